// Signatures and disclaimers added to a submitted message (mail-smtpd's
// submission role, mail-send): the text goes at the end of the text/plain
// body after "-- ", the HTML before </body>, in both parts of a
// multipart/alternative, in the first body part of a multipart/mixed. The
// part's transfer encoding is kept (decoded, appended, encoded again) and
// its charset too when the additions are ASCII (otherwise the text is
// converted to UTF-8). Signed or encrypted messages are never changed; a
// part that already ends with the signature does not get it again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail {

struct Signature {
    std::string text, html;                       // the user's signature
    std::string disclaimer_text, disclaimer_html; // the domain's disclaimer
    bool empty() const {
        return text.empty() && html.empty() && disclaimer_text.empty() && disclaimer_html.empty();
    }
};

// The message (LF line ends) with the signature added, or nullopt when it
// is left as it is (nothing to add, signed/encrypted, already there, or a
// structure not understood).
std::optional<std::string> add_signature(std::string_view message, const Signature& sig);

} // namespace mail
