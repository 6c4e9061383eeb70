// SPF (RFC 7208): may this client send mail for this domain? check_host()
// for the MAIL FROM identity, or the HELO identity for the null sender,
// with every mechanism and modifier, the macros, and the limits of 4.6.4
// (10 terms that query DNS, 2 void lookups, 10 MX and PTR names) and a
// time budget. Pure apart from `Lookup`, which asks DNS (net::Resolver in
// the servers, a table in the tests).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "net/dns.hpp"

namespace mail::verify {

using Lookup = std::function<net::DnsAnswer(const std::string& name, net::RrType type)>;

enum class Spf { none, neutral, pass, fail, softfail, temperror, permerror };
const char* spf_name(Spf r); // "pass", as in Authentication-Results and Received-SPF

struct SpfVerdict {
    Spf result = Spf::none;
    bool helo = false;       // the identity checked: HELO (null sender) or MAIL FROM
    std::string sender;      // <sender> of check_host(): postmaster@helo for the null sender
    std::string domain;      // its domain
    std::string reason;      // the mechanism that matched, or what went wrong
    std::string explanation; // fail: the domain's exp= text (printable ASCII), if any
};

struct SpfLimits {
    int dns_terms = 10;   // include, a, mx, ptr, exists, redirect
    int void_lookups = 2; // answers with no records, or no such name
    int names = 10;       // MX names of one mx, PTR names of one ptr or %{p}
    int64_t budget_ms = 20000;
};

// The facts macros expand (RFC 7208 7.2).
struct SpfFacts {
    std::string ip;       // as given: "192.0.2.3", "2001:db8::cb01"
    std::string helo;     // %{h}
    std::string receiver; // %{r}: our host name
    int64_t now = 0;      // %{t}
};

// A domain name as the checks compare them: lower case, no final dot.
std::string comparable_domain(std::string_view d);

SpfVerdict check_spf(const Lookup& dns, const SpfFacts& facts, const std::string& mail_from,
                     const SpfLimits& limits = {});

// The parts below are what check_spf() is made of, public for the tests
// and the fuzz target.

enum class Qualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };

struct SpfTerm {
    enum Kind { all, include, a, mx, ptr, ip4, ip6, exists, redirect, exp, unknown_modifier } kind;
    Qualifier qualifier = Qualifier::pass;
    std::string spec;         // the domain-spec (a macro string), or the network
    int cidr4 = 32, cidr6 = 128;
    std::string text;         // the term as written, for the reason
};

// A record ("v=spf1 ..."), every term checked (RFC 7208 4.6): a syntax
// error anywhere is a permerror even when evaluation would not reach it.
Result<std::vector<SpfTerm>> parse_spf(std::string_view record);

// Expand a macro string (RFC 7208 7). `exp`: the text of an explanation,
// where %{c}, %{r} and %{t} are allowed too. `validated` gives %{p}.
struct MacroValues {
    std::string sender, local, sender_domain, domain;
    std::string ip;          // %{i}: IPv4 dotted, IPv6 as 32 dotted nibbles
    std::string ip_readable; // %{c}: "2001:db8::cb01"
    bool ipv6 = false;
    std::string helo, receiver;
    int64_t now = 0;
    std::function<std::string()> validated;
};
Result<std::string> expand_macros(std::string_view spec, const MacroValues& v, bool exp = false);

} // namespace mail::verify
