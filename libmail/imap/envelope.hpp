// The ENVELOPE of FETCH (RFC 3501 7.4.2, RFC 9051 7.5.2): the message's
// Date, Subject, From, Sender, Reply-To, To, Cc, Bcc, In-Reply-To and
// Message-ID as IMAP values. Address lists are parsed as RFC 5322 (display
// names, groups, source routes) keeping the text as written; encoded words
// stay encoded, as clients expect. Pure (groundwork for mail-imapd).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mail {
struct Header;
}

namespace mail::imap {

struct EnvelopeAddress {
    std::string name, adl, mailbox, host;
    bool has_name = false, has_host = false;
    enum class Kind { address, group_start, group_end } kind = Kind::address;
};

// At most 1000 addresses; what cannot be parsed is skipped.
std::vector<EnvelopeAddress> envelope_addresses(std::string_view value);

// A header field's unfolded value as an IMAP string, NIL when absent.
std::string field_nstring(const Header& h, std::string_view name);

// "(...)" for the header; Sender and Reply-To default to From.
std::string envelope(const Header& h);

} // namespace mail::imap
