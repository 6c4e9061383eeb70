#include "spf.hpp"

#include "message/address.hpp"
#include "verify/ip.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <optional>

namespace mail::verify {

using net::DnsAnswer;
using net::RrType;

std::string comparable_domain(std::string_view d) {
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    return ascii_lower(d);
}

const char* spf_name(Spf r) {
    switch (r) {
    case Spf::none: return "none";
    case Spf::neutral: return "neutral";
    case Spf::pass: return "pass";
    case Spf::fail: return "fail";
    case Spf::softfail: return "softfail";
    case Spf::temperror: return "temperror";
    case Spf::permerror: return "permerror";
    }
    return "none";
}

namespace {

std::string reverse_name(const Ip& ip) { return reversed(ip) + (ip.v6 ? "ip6.arpa" : "in-addr.arpa"); }

// RFC 7208 4.3: a multi-label name, labels of 1 to 63 octets, 253 in all.
bool valid_domain(std::string_view d) {
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
    size_t start = 0;
    for (;;) {
        size_t dot = d.find('.', start);
        size_t len = (dot == std::string_view::npos ? d.size() : dot) - start;
        if (len == 0 || len > 63) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// After expansion, a name longer than 253 octets loses labels on the left (7.3).
std::string truncate_left(std::string d) {
    while (d.size() > 253) {
        size_t dot = d.find('.');
        if (dot == std::string::npos) break;
        d.erase(0, dot + 1);
    }
    return d;
}

std::string trim_dot(std::string d) {
    if (!d.empty() && d.back() == '.') d.pop_back();
    return d;
}

bool within(const std::string& n, const std::string& domain) {
    std::string name = comparable_domain(n), d = comparable_domain(domain);
    return name == d || (name.size() > d.size() && name.compare(name.size() - d.size(), d.size(), d) == 0 &&
                         name[name.size() - d.size() - 1] == '.');
}

} // namespace

namespace {

class Evaluator {
  public:
    Evaluator(const Lookup& dns, const SpfLimits& limits, const Ip& ip, const SpfFacts& facts)
        : dns_(dns), limits_(limits), ip_(ip), facts_(facts),
          deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.budget_ms)) {}

    // check_host() (RFC 7208 4); `explain`: the top level, whose exp= counts.
    Spf check_host(const std::string& domain, const std::string& sender, std::string& reason, std::string* explain);

  private:
    enum class Match { no, yes, temperror, permerror };
    std::optional<DnsAnswer> ask(const std::string& name, RrType type, std::string& reason);
    Match count_term(std::string& reason);
    Match void_lookup(const DnsAnswer& a, std::string& reason);
    Match mechanism(const SpfTerm& t, const MacroValues& v, std::string& reason);
    std::string validated_name(const std::string& domain);
    MacroValues values(const std::string& domain, const std::string& sender);

    const Lookup& dns_;
    const SpfLimits& limits_;
    Ip ip_;
    const SpfFacts& facts_;
    std::chrono::steady_clock::time_point deadline_;
    int terms_ = 0, voids_ = 0;
    std::optional<std::vector<std::string>> validated_;
};

std::optional<DnsAnswer> Evaluator::ask(const std::string& name, RrType type, std::string& reason) {
    if (std::chrono::steady_clock::now() > deadline_) {
        reason = "time budget for DNS exceeded";
        return std::nullopt;
    }
    return dns_(name, type);
}

Evaluator::Match Evaluator::count_term(std::string& reason) {
    if (++terms_ <= limits_.dns_terms) return Match::no;
    reason = fmt::format("more than {} DNS lookups", limits_.dns_terms);
    return Match::permerror;
}

Evaluator::Match Evaluator::void_lookup(const DnsAnswer& a, std::string& reason) {
    if (a.kind == DnsAnswer::failed) {
        reason = "DNS failure: " + a.error;
        return Match::temperror;
    }
    if (a.kind == DnsAnswer::found) return Match::yes;
    if (++voids_ > limits_.void_lookups) {
        reason = fmt::format("more than {} void DNS lookups", limits_.void_lookups);
        return Match::permerror;
    }
    return Match::no;
}

// The names of the client's address that lead back to it (5.5), the
// first that is `domain` or below it; else any. The PTR lookup and the
// address lookups of at most `names` names are made once per check.
std::string Evaluator::validated_name(const std::string& domain) {
    if (!validated_) {
        validated_.emplace();
        std::string reason;
        auto names = ask(reverse_name(ip_), RrType::ptr, reason);
        int n = 0;
        for (auto& name : names && names->kind == DnsAnswer::found ? names->values : std::vector<std::string>()) {
            if (++n > limits_.names) break;
            auto addrs = ask(name, ip_.v6 ? RrType::aaaa : RrType::a, reason);
            if (!addrs || addrs->kind != DnsAnswer::found) continue;
            for (auto& a : addrs->values)
                if (auto ip = parse_ip(a); ip && in_network(ip_, *ip, ip_.v6 ? 128 : 32)) {
                    validated_->push_back(trim_dot(name));
                    break;
                }
        }
    }
    for (auto& name : *validated_)
        if (within(name, domain)) return name;
    return validated_->empty() ? "" : validated_->front();
}

MacroValues Evaluator::values(const std::string& domain, const std::string& sender) {
    MacroValues v;
    v.sender = sender;
    size_t at = sender.rfind('@');
    v.local = sender.substr(0, at);
    v.sender_domain = sender.substr(at + 1);
    v.domain = domain;
    v.ip = dotted(ip_);
    v.ip_readable = readable(ip_);
    v.ipv6 = ip_.v6;
    v.helo = facts_.helo;
    v.receiver = facts_.receiver;
    v.now = facts_.now;
    v.validated = [this, domain] {
        std::string n = validated_name(domain);
        return n.empty() ? std::string("unknown") : n;
    };
    return v;
}

Evaluator::Match Evaluator::mechanism(const SpfTerm& t, const MacroValues& v, std::string& reason) {
    std::string target = v.domain;
    if (!t.spec.empty() && t.kind != SpfTerm::ip4 && t.kind != SpfTerm::ip6) {
        auto e = expand_macros(t.spec, v);
        if (!e) {
            reason = e.error().user;
            return Match::permerror;
        }
        target = truncate_left(*e);
    }
    auto addresses_match = [&](const DnsAnswer& a) {
        for (auto& s : a.values)
            if (auto ip = parse_ip(s); ip && in_network(ip_, *ip, ip_.v6 ? t.cidr6 : t.cidr4)) return true;
        return false;
    };
    switch (t.kind) {
    case SpfTerm::all: return Match::yes;
    case SpfTerm::ip4:
    case SpfTerm::ip6: {
        auto net = parse_ip(t.spec);
        return net && in_network(ip_, *net, t.kind == SpfTerm::ip6 ? t.cidr6 : t.cidr4) ? Match::yes : Match::no;
    }
    case SpfTerm::a:
    case SpfTerm::exists: {
        if (Match m = count_term(reason); m != Match::no) return m;
        bool exists = t.kind == SpfTerm::exists;
        auto a = ask(target, exists || !ip_.v6 ? RrType::a : RrType::aaaa, reason);
        if (!a) return Match::temperror;
        Match m = void_lookup(*a, reason);
        if (m != Match::yes) return m;
        return exists || addresses_match(*a) ? Match::yes : Match::no;
    }
    case SpfTerm::mx: {
        if (Match m = count_term(reason); m != Match::no) return m;
        auto mx = ask(target, RrType::mx, reason);
        if (!mx) return Match::temperror;
        Match m = void_lookup(*mx, reason);
        if (m != Match::yes) return m;
        if (static_cast<int>(mx->values.size()) > limits_.names) {
            reason = fmt::format("more than {} MX names for {}", limits_.names, target);
            return Match::permerror;
        }
        for (auto& name : mx->values) {
            if (name.empty() || name == ".") continue; // a null MX
            auto a = ask(name, ip_.v6 ? RrType::aaaa : RrType::a, reason);
            if (!a) return Match::temperror;
            if (a->kind == DnsAnswer::failed) {
                reason = "DNS failure: " + a->error;
                return Match::temperror;
            }
            if (addresses_match(*a)) return Match::yes;
        }
        return Match::no;
    }
    case SpfTerm::ptr: {
        if (Match m = count_term(reason); m != Match::no) return m;
        // A DNS error here is no match (5.5).
        std::string name = validated_name(target);
        return !name.empty() && within(name, target) ? Match::yes : Match::no;
    }
    default: return Match::no; // include is check_host's, modifiers are not mechanisms
    }
}

Spf qualified(Qualifier q) {
    switch (q) {
    case Qualifier::pass: return Spf::pass;
    case Qualifier::fail: return Spf::fail;
    case Qualifier::softfail: return Spf::softfail;
    case Qualifier::neutral: return Spf::neutral;
    }
    return Spf::neutral;
}

Spf Evaluator::check_host(const std::string& domain, const std::string& sender, std::string& reason,
                          std::string* explain) {
    if (!valid_domain(domain)) {
        reason = "'" + domain + "' is not a domain name";
        return Spf::none;
    }
    auto txt = ask(domain, RrType::txt, reason);
    if (!txt) return Spf::temperror;
    if (txt->kind == DnsAnswer::failed) {
        reason = fmt::format("DNS failure for {}: {}", domain, txt->error);
        return Spf::temperror;
    }
    std::vector<std::string> records;
    for (auto& r : txt->values)
        if (r.size() >= 6 && iequals(std::string_view(r).substr(0, 6), "v=spf1") && (r.size() == 6 || r[6] == ' '))
            records.push_back(r);
    if (records.empty()) {
        reason = "no SPF record for " + domain;
        return Spf::none;
    }
    if (records.size() > 1) {
        reason = "more than one SPF record for " + domain;
        return Spf::permerror;
    }
    auto terms = parse_spf(records[0]);
    if (!terms) {
        reason = terms.error().user + " (" + domain + ")";
        return Spf::permerror;
    }
    MacroValues v = values(domain, sender);
    const SpfTerm* redirect = nullptr;
    const SpfTerm* exp = nullptr;
    for (auto& t : *terms) {
        if (t.kind == SpfTerm::redirect) redirect = &t;
        if (t.kind == SpfTerm::exp) exp = &t;
    }
    std::optional<Spf> result;
    for (auto& t : *terms) {
        if (t.kind == SpfTerm::redirect || t.kind == SpfTerm::exp || t.kind == SpfTerm::unknown_modifier) continue;
        if (t.kind == SpfTerm::include) {
            if (count_term(reason) == Match::permerror) return Spf::permerror;
            auto target = expand_macros(t.spec, v);
            if (!target) {
                reason = target.error().user;
                return Spf::permerror;
            }
            std::string inner;
            Spf r = check_host(truncate_left(*target), sender, inner, nullptr);
            if (r == Spf::temperror || r == Spf::permerror) {
                reason = inner;
                return r;
            }
            if (r == Spf::none) {
                reason = "include:" + *target + " has no SPF record";
                return Spf::permerror;
            }
            if (r != Spf::pass) continue;
        } else {
            Match m = mechanism(t, v, reason);
            if (m == Match::temperror) return Spf::temperror;
            if (m == Match::permerror) return Spf::permerror;
            if (m == Match::no) continue;
        }
        reason = fmt::format("{} matched ({})", t.text, domain);
        result = qualified(t.qualifier);
        break;
    }
    if (!result) {
        if (!redirect) {
            reason = "no mechanism matched (" + domain + ")";
            return Spf::neutral;
        }
        if (count_term(reason) == Match::permerror) return Spf::permerror;
        auto target = expand_macros(redirect->spec, v);
        if (!target) {
            reason = target.error().user;
            return Spf::permerror;
        }
        Spf r = check_host(truncate_left(*target), sender, reason, explain);
        if (r == Spf::none) {
            reason = "redirect=" + *target + " has no SPF record";
            return Spf::permerror;
        }
        return r;
    }
    // The explanation of a fail (6.2): DNS trouble or a bad text is no explanation.
    if (*result == Spf::fail && explain && exp) {
        std::string ignored;
        auto name = expand_macros(exp->spec, v);
        std::optional<DnsAnswer> t;
        if (name && valid_domain(*name)) t = ask(truncate_left(*name), RrType::txt, ignored);
        if (t && t->kind == DnsAnswer::found && t->values.size() == 1) {
            if (auto text = expand_macros(t->values[0], v, true)) {
                for (char c : *text)
                    if (c >= 0x20 && c <= 0x7e) *explain += c;
                if (explain->size() > 512) explain->resize(512);
            }
        }
    }
    return *result;
}

} // namespace

SpfVerdict check_spf(const Lookup& dns, const SpfFacts& facts, const std::string& mail_from,
                     const SpfLimits& limits) {
    SpfVerdict out;
    out.helo = mail_from.empty();
    if (out.helo) {
        out.domain = facts.helo;
        out.sender = "postmaster@" + facts.helo;
    } else {
        size_t at = mail_from.rfind('@');
        out.domain = at == std::string::npos ? mail_from : mail_from.substr(at + 1);
        // A sender without a local part is postmaster (4.3).
        out.sender = at == std::string::npos || at == 0 ? "postmaster@" + out.domain : mail_from;
    }
    auto ip = parse_ip(facts.ip);
    if (!ip) {
        out.result = Spf::permerror;
        out.reason = "client address '" + facts.ip + "' is not an IP address";
        return out;
    }
    Evaluator e(dns, limits, *ip, facts);
    out.result = e.check_host(out.domain, out.sender, out.reason, &out.explanation);
    return out;
}

} // namespace mail::verify
