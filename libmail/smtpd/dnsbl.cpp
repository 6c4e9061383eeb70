// DNS blocklists at the MX (RFC 5782): each configured list asked once per
// session about the client's address (the questions went out at MAIL FROM,
// see Session::prefetch), at the first RCPT. A client on a refusing list
// gets 554 5.7.1 for every recipient but postmaster, with the list's
// reason; a score-only list adds a header line for the content filter.
// An error answer is never a listing and is logged loudly; a DNS failure
// lists nobody.
#include <fmt/format.h>

#include "base/log.hpp"
#include "smtpd/session.hpp"
#include "verify/dnsbl.hpp"
#include "verify/ip.hpp"

namespace mail::smtp {

bool Session::dnsbl_applies() const {
    return opt_.role == Role::mx && !user_ && !peer_.ip.empty() &&
           (!cfg_.dnsbl.zones.empty() || !cfg_.dnsbl.score_zones.empty());
}

const Session::Dnsbl& Session::dnsbl() {
    if (dnsbl_) return *dnsbl_;
    dnsbl_.emplace();
    net::Resolver* dns = checks_resolver(cfg_, false);
    if (!dns) return *dnsbl_;
    std::vector<const DnsblZone*> zones;
    std::vector<std::pair<std::string, net::RrType>> questions;
    for (auto* list : {&cfg_.dnsbl.zones, &cfg_.dnsbl.score_zones})
        for (auto& z : *list) {
            zones.push_back(&z);
            questions.push_back({verify::dnsbl_name(peer_.ip, z.zone), net::RrType::a});
        }
    if (questions.empty() || questions[0].first.empty()) return *dnsbl_;
    auto answers = dns->query_all(questions);
    std::optional<bool> allowed; // asked only for a listed client
    for (size_t i = 0; i < zones.size() && i < answers.size(); i++) {
        bool refusing = i < cfg_.dnsbl.zones.size();
        net::DnsAnswer txt;
        if (answers[i].kind == net::DnsAnswer::found) txt = dns->query(questions[i].first, net::RrType::txt);
        auto v = verify::dnsbl_verdict(*zones[i], answers[i], txt);
        if (!v.error.empty()) {
            // An error answer means every client would look listed: loud.
            if (answers[i].kind == net::DnsAnswer::failed) log::warn("smtpd.dnsbl", "{} {}: {}", peer_.ip, v.zone, v.error);
            else log::err("smtpd.dnsbl", "{} {}", peer_.ip, v.error);
            continue;
        }
        if (!v.listed) continue;
        if (!allowed) {
            // A domain on the allow-list counts when SPF passes for the sender's domain.
            std::string spf_domain;
            bool domains = false;
            for (auto& a : cfg_.dnsbl.allow) domains |= !verify::parse_network(a);
            if (domains && !env_.sender.empty()) {
                verify::Lookup lookup = [dns](const std::string& n, net::RrType t) { return dns->query(n, t); };
                auto spf = verify::check_spf(lookup, {peer_.ip, helo_, host_name(cfg_), time(nullptr)}, env_.sender);
                if (spf.result == verify::Spf::pass) spf_domain = spf.domain;
            }
            allowed = verify::dnsbl_allowed(cfg_.dnsbl.allow, peer_.ip, spf_domain);
        }
        log::info("smtpd.dnsbl", "{} listed in {} ({}{}){}", peer_.ip, v.zone, v.answer,
                  v.reason.empty() ? "" : ": " + v.reason, *allowed ? ", allowed" : refusing ? ", refused" : ", scored");
        if (*allowed) continue;
        if (refusing && !dnsbl_->refusal)
            dnsbl_->refusal = fmt::format("service unavailable; client [{}] blocked using {}{}", peer_.ip, v.zone,
                                          v.reason.empty() ? "" : "; " + v.reason);
        if (!refusing) dnsbl_->header += fmt::format("X-Facteur-DNSBL: {} {}\n", v.zone, v.answer);
    }
    return *dnsbl_;
}

} // namespace mail::smtp
