#include "checks.hpp"

#include <chrono>
#include <map>
#include <ctime>

#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::verify {

namespace {

// checks.dmarc_allow: an address, or a domain (and its subdomains) of the
// envelope sender (mailing lists and forwarders that break DMARC).
bool allowed(const std::vector<std::string>& allow, const std::string& mail_from) {
    std::string sender = ascii_lower(mail_from);
    std::string domain = sender.substr(sender.rfind('@') + 1);
    for (auto& a : allow) {
        std::string x = ascii_lower(a);
        if (x.find('@') != std::string::npos ? x == sender
                                             : !domain.empty() && (domain == x || domain.ends_with("." + x)))
            return true;
    }
    return false;
}

// The questions every check of this message starts with.
std::vector<std::pair<std::string, net::RrType>> first_questions(const Config& cfg, const SpfFacts& facts,
                                                                 const std::string& mail_from,
                                                                 const Header* h) {
    std::vector<std::pair<std::string, net::RrType>> out;
    std::string spf_domain = mail_from.empty() ? facts.helo : mail_from.substr(mail_from.rfind('@') + 1);
    if (!spf_domain.empty()) out.push_back({spf_domain, net::RrType::txt});
    if (!h) return out;
    if (auto from = h->get("From")) {
        auto list = parse_address_list(*from);
        if (!list.empty()) out.push_back({"_dmarc." + list[0].domain, net::RrType::txt});
    }
    size_t sigs = 0;
    for (auto& f : h->fields) {
        if (!iequals(f.name, "DKIM-Signature") || sigs++ >= static_cast<size_t>(cfg.checks.dkim_max_signatures))
            continue;
        auto tags = parse_tag_list(f.value);
        if (!tags) continue;
        std::string d, sel;
        for (auto& [k, v] : *tags) {
            if (k == "d") d = ascii_lower(v);
            if (k == "s") sel = v;
        }
        if (!d.empty() && !sel.empty()) out.push_back({sel + "._domainkey." + d, net::RrType::txt});
    }
    return out;
}

} // namespace

std::string authserv_id_of(std::string_view value) {
    std::string id;
    size_t i = 0;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n')) i++;
    for (; i < value.size(); i++) {
        char c = value[i];
        if (c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(') break;
        id += c;
    }
    return ascii_lower(id);
}

Checks check_message(const Config& cfg, const Lookup& dns, const SpfFacts& facts, const std::string& mail_from,
                     std::string_view message, const LookupAll& all) {
    Checks c;
    SpfLimits limits;
    limits.budget_ms = static_cast<int64_t>(cfg.checks.dns_budget) * 1000;
    // One DNS time budget for all the checks of the message: past it, every
    // question is a failure at once (SPF temperror, DKIM temperror, DMARC
    // temperror), so that a slow DNS server holds the client at most the
    // budget and one question's timeout.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.budget_ms);
    std::map<std::pair<std::string, net::RrType>, net::DnsAnswer> asked;
    auto parsed = parse_header(message, message.size()); // once, for every check
    const Header* h = parsed ? &*parsed : nullptr;
    if (all) {
        auto questions = first_questions(cfg, facts, mail_from, h);
        auto answers = all(questions);
        for (size_t i = 0; i < questions.size() && i < answers.size(); i++) asked[questions[i]] = answers[i];
    }
    Lookup budgeted = [&dns, &asked, deadline](const std::string& name, net::RrType t) {
        if (auto it = asked.find({name, t}); it != asked.end()) return it->second;
        if (std::chrono::steady_clock::now() > deadline) {
            net::DnsAnswer a;
            a.error = "time budget for DNS exceeded";
            return a;
        }
        return dns(name, t);
    };
    c.spf = check_spf(budgeted, facts, mail_from, limits);
    std::vector<std::string> results{spf_result(c.spf)};
    if (h) {
        c.dkim = verify_dkim(budgeted, message, *h, {static_cast<size_t>(cfg.checks.dkim_max_signatures), facts.now});
        c.arc = verify_arc(budgeted, message, *h, facts.now);
        c.dmarc = check_dmarc(budgeted, *h, c.spf, c.dkim);
    } else {
        c.dmarc.result = "permerror";
        c.dmarc.reason = "the header is larger than the limit";
    }
    for (auto& d : dkim_results(c.dkim)) results.push_back(d);
    if (c.arc.result != "none") results.push_back(arc_result(c.arc, facts.ip));
    results.push_back(dmarc_result(c.dmarc));
    c.field = authentication_results(facts.receiver, results);
    c.allowed = c.dmarc.result == "fail" && allowed(cfg.checks.dmarc_allow, mail_from);
    c.disposition = c.allowed ? "none" : c.dmarc.disposition;
    return c;
}

std::string remove_our_results(std::string_view message, const std::string& authserv_id) {
    auto h = parse_header(message, message.size());
    if (!h) return std::string(message);
    std::string out;
    size_t from = 0;
    std::string ours = ascii_lower(authserv_id);
    for (auto& f : h->fields) {
        if (!iequals(f.name, "Authentication-Results") || authserv_id_of(f.value) != ours) continue;
        size_t start = static_cast<size_t>(f.name.data() - message.data());
        size_t end = static_cast<size_t>(f.value.data() + f.value.size() - message.data());
        if (end < message.size() && message[end] == '\r') end++;
        if (end < message.size() && message[end] == '\n') end++;
        out.append(message.substr(from, start - from));
        from = end;
    }
    out.append(message.substr(from));
    return out;
}

} // namespace mail::verify
