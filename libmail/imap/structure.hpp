// BODY and BODYSTRUCTURE of FETCH (RFC 3501 7.4.2, RFC 9051 7.5.2): the
// MIME structure of a stored message (LF line ends; sizes and line counts
// are given for the CRLF form clients receive). Multiparts and
// message/rfc822 are followed to a depth of 50 and 10,000 parts; past
// that, an entity is described as a single part. Pure (groundwork for
// mail-imapd).
#pragma once

#include <string>
#include <string_view>

namespace mail::imap {

// `extended`: BODYSTRUCTURE (with MD5, disposition, language, location);
// otherwise BODY.
std::string body_structure(std::string_view message, bool extended);
// Both from one parse (for the cache).
void body_structures(std::string_view message, std::string& body, std::string& bodystructure);

} // namespace mail::imap
