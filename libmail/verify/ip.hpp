// IP addresses as the checks of inbound mail use them: SPF's ip4/ip6/a/mx
// matching and %{i}, reverse names (ptr, DNS blocklists), and networks in
// allow-lists ("192.0.2.0/24", "2001:db8::/32").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail::verify {

struct Ip {
    bool v6 = false;
    unsigned char b[16] = {};
};

// IPv4 or IPv6; an IPv4-mapped IPv6 address is IPv4 (RFC 7208 5).
std::optional<Ip> parse_ip(const std::string& s);
bool in_network(const Ip& ip, const Ip& net, int bits);
// "192.0.2.0/24", "2001:db8::/32", or an address alone; nullopt when it
// is neither.
std::optional<std::pair<Ip, int>> parse_network(std::string_view spec);
// Dotted IPv4, or 32 dotted nibbles of IPv6 (SPF's %{i}).
std::string dotted(const Ip& ip);
// "192.0.2.0/24": the network of `ip` with `bits4` (IPv4) or `bits6`
// (IPv6) bits; empty for an address that does not parse.
std::string network_of(const std::string& ip, int bits4, int bits6);
// The usual text form.
std::string readable(const Ip& ip);
// The labels of dotted() in reverse order, each followed by a dot:
// "4.3.2.1." for 1.2.3.4 (RFC 5782 2.1, 2.4; and the .arpa names).
std::string reversed(const Ip& ip);

} // namespace mail::verify
