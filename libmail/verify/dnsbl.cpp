#include "dnsbl.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "message/address.hpp"
#include "verify/ip.hpp"

namespace mail::verify {

namespace {

std::optional<uint32_t> ipv4(std::string_view s) {
    in_addr a;
    if (inet_pton(AF_INET, std::string(s).c_str(), &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

bool error_answer(uint32_t a) { return a == 0x7ffffffc || a == 0x7ffffffe || a == 0x7fffffff; }

} // namespace

std::string dnsbl_name(const std::string& ip, const std::string& zone) {
    auto a = parse_ip(ip);
    return a ? reversed(*a) + zone : std::string();
}

DnsblResult dnsbl_verdict(const DnsblZone& z, const net::DnsAnswer& a, const net::DnsAnswer& txt) {
    DnsblResult r;
    r.zone = z.zone;
    if (a.kind == net::DnsAnswer::failed) {
        r.error = "DNS failure: " + a.error;
        return r;
    }
    for (auto& v : a.values) // a refusal among the answers: none of them is believed
        if (auto x = ipv4(v); x && error_answer(*x)) {
            r.answer = v;
            r.error = fmt::format("{} answered {}: the list refuses our queries (a public resolver, or too many), "
                                  "not a listing",
                                  z.zone, v);
            return r;
        }
    for (auto& v : a.values) {
        auto x = ipv4(v);
        if (!x) continue;
        bool counts = false;
        if (z.listed.empty()) counts = (*x >> 24) == 127 && *x != 0x7f000001;
        for (auto [lo, hi] : z.listed) counts |= *x >= lo && *x <= hi;
        if (counts) {
            r.listed = true;
            r.answer = v;
            break;
        }
    }
    if (r.listed && txt.kind == net::DnsAnswer::found && !txt.values.empty()) {
        for (char c : txt.values[0])
            if (c >= 0x20 && c <= 0x7e && r.reason.size() < 200) r.reason += c;
    }
    return r;
}

bool dnsbl_allowed(const std::vector<std::string>& allow, const std::string& ip, const std::string& spf_pass_domain) {
    auto client = parse_ip(ip);
    std::string domain = comparable_domain(spf_pass_domain);
    for (auto& entry : allow) {
        if (auto net = parse_network(entry)) {
            if (client && in_network(*client, net->first, net->second)) return true;
        } else if (!domain.empty()) {
            std::string d = comparable_domain(entry);
            if (domain == d || domain.ends_with("." + d)) return true;
        }
    }
    return false;
}

} // namespace mail::verify
