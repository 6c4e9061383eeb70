// The ENVELOPE of FETCH (RFC 3501 7.4.2, RFC 9051 7.5.2): the message's
// Date, Subject, From, Sender, Reply-To, To, Cc, Bcc, In-Reply-To and
// Message-ID as IMAP values. Address lists are read by read_address_list()
// (message/address.hpp), keeping the text as written; encoded words
// stay encoded, as clients expect. Pure (groundwork for mail-imapd).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mail {
struct Header;
}

namespace mail::imap {

// A header field's unfolded value as an IMAP string, NIL when absent.
std::string field_nstring(const Header& h, std::string_view name);

// "(...)" for the header; Sender and Reply-To default to From.
std::string envelope(const Header& h);

} // namespace mail::imap
