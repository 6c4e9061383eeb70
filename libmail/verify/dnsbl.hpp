// DNS blocklists (RFC 5782): the client's address, reversed, under each
// list's zone; an A record there means listed, its TXT record says why.
// Some lists answer a refused query (a public resolver, too many queries)
// with 127.255.255.252, .254 or .255: never a listing, whatever the zone
// says counts (treating it as one refuses all mail).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/config.hpp"
#include "base/result.hpp"
#include "verify/spf.hpp"

namespace mail::verify {

struct DnsblResult {
    bool listed = false;
    std::string zone;
    std::string answer; // the A record that counted (or the error answer)
    std::string reason; // the TXT record, if any (printable ASCII, bounded)
    std::string error;  // DNS failure, or an error answer (logged, never a listing)
};

// The name to ask: "4.3.2.1.zone" for 1.2.3.4, 32 reversed nibbles for
// IPv6; empty for an address that does not parse.
std::string dnsbl_name(const std::string& ip, const std::string& zone);

// The verdict of one zone from its A answer (and TXT answer, read when
// listed). Pure.
DnsblResult dnsbl_verdict(const DnsblZone& z, const net::DnsAnswer& a, const net::DnsAnswer& txt);

// Whether the client is on the allow-list: its address in one of the
// networks, or (`spf_pass_domain`, when SPF passed) a listed domain.
bool dnsbl_allowed(const std::vector<std::string>& allow, const std::string& ip, const std::string& spf_pass_domain);

} // namespace mail::verify
