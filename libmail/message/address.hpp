// Mail addresses. parse_address() reads an RFC 5321 mailbox (the form used
// in envelopes and on command lines); parse_address_list() reads the
// addresses out of an RFC 5322 header value (display names, comments,
// groups). Domains come back lower-cased, IDN labels in their A-label form.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mail {

constexpr size_t max_local_part = 64;
constexpr size_t max_domain = 255;
constexpr size_t max_path = 256;

struct Address {
    std::string local;  // as given (case preserved), unquoted
    std::string domain; // lower case, A-labels; "[...]" for address literals
    // local@domain, with the local part quoted when it needs to be.
    std::string str() const;
    bool empty() const { return local.empty() && domain.empty(); }
};

Result<Address> parse_address(std::string_view text);
// An SMTP path: "<>" (null sender) or "<mailbox>" (source routes dropped) or a bare mailbox.
Result<Address> parse_path(std::string_view text);
// The valid addresses of a header value (group members included),
// normalised as parse_path() does; what does not parse is skipped.
std::vector<Address> parse_address_list(std::string_view header_value);

// One entry of an address list as written: a mailbox, or the start (with
// the group's name) or end of a group.
struct ListedAddress {
    enum class Kind { mailbox, group_start, group_end } kind = Kind::mailbox;
    std::string name;          // the display name (group_start: the group's)
    std::string route;         // an obsolete source route "@a,@b"
    std::string local, domain; // as written, quoted strings unquoted
    bool has_name = false, has_domain = false;
};
// At most 1000 entries; what cannot be read is skipped. Never fails.
std::vector<ListedAddress> read_address_list(std::string_view header_value);

// Well-formed UTF-8 (no overlong forms, surrogates or bytes past U+10FFFF).
bool valid_utf8(std::string_view s);

// Lower-case ASCII letters; bytes >= 0x80 are kept.
std::string ascii_lower(std::string_view s);
// Upper-case ASCII letters (IMAP atoms and keywords).
std::string ascii_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// A domain name in the form we store: lower case, each non-ASCII label as "xn--...".
Result<std::string> normalize_domain(std::string_view domain);
// Split "user+tag" at the first delimiter; returns false if there is none.
bool split_subaddress(std::string_view local, std::string_view delim, std::string& base,
                      std::string& tag);

} // namespace mail
