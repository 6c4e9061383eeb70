// Mailbox names in modified UTF-7 (RFC 3501 5.1.3), the form IMAP clients
// without UTF8=ACCEPT use: printable ASCII as itself ("&" as "&-"), other
// characters as "&" + base64 of UTF-16BE (',' for '/') + "-". Pure.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mail::imap {

// UTF-8 -> modified UTF-7. Errors: invalid UTF-8.
Result<std::string> mutf7_encode(std::string_view utf8);
// Modified UTF-7 -> UTF-8. Strict, so that one name has one spelling:
// errors for printable ASCII inside a shift, padding bits set, a lone
// surrogate, an empty shift "&-" is '&', an unterminated shift.
Result<std::string> mutf7_decode(std::string_view mutf7);
// Append the UTF-8 form of code point `cp` (also for SEARCH's case folding).
void put_utf8(uint32_t cp, std::string& out);

} // namespace mail::imap
