#include "dmarc.hpp"

#include <map>

#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::verify {

namespace {

using net::DnsAnswer;
using net::RrType;

// The names the tree walk asks about (RFC 9989 4.10): the domain, then,
// from at most its last 7 labels, each parent up to the top-level domain.
std::vector<std::string> walk_names(const std::string& domain) {
    std::vector<std::string> labels;
    for (size_t start = 0;;) {
        size_t dot = domain.find('.', start);
        labels.push_back(domain.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    std::vector<std::string> out{domain};
    size_t n = labels.size();
    for (size_t keep = std::min<size_t>(n - 1, 7); keep >= 1; keep--) {
        std::string name;
        for (size_t i = n - keep; i < n; i++) name += (name.empty() ? "" : ".") + labels[i];
        out.push_back(name);
    }
    return out;
}

bool valid_policy(const std::string& p) { return p == "none" || p == "quarantine" || p == "reject"; }

// The DMARC records of the names asked about, each asked once.
class Walker {
  public:
    explicit Walker(const Lookup& dns) : dns_(dns) {}
    enum class Found { record, none, failed };
    Found at(const std::string& name, DmarcRecord* record = nullptr) {
        auto it = cache_.find(name);
        if (it == cache_.end()) {
            Entry e{Found::none, {}};
            DnsAnswer a = dns_("_dmarc." + name, RrType::txt);
            if (a.kind == DnsAnswer::failed) e.found = Found::failed;
            int valid = 0;
            for (auto& text : a.kind == DnsAnswer::found ? a.values : std::vector<std::string>())
                if (auto r = parse_dmarc(text)) valid++, e.record = *r;
            if (valid == 1) e.found = Found::record; // several: as none (RFC 9989 4.10)
            it = cache_.emplace(name, e).first;
        }
        if (record && it->second.found == Found::record) *record = it->second.record;
        return it->second.found;
    }
    std::optional<std::string> organizational(const std::string& domain) {
        std::string highest = domain, previous = domain;
        for (auto& name : walk_names(domain)) {
            DmarcRecord r;
            Found f = at(name, &r);
            if (f == Found::failed) return std::nullopt;
            if (f == Found::record) {
                if (r.psd == "n") return name;
                if (r.psd == "y") return previous;
                highest = name;
            }
            previous = name;
        }
        return highest;
    }

  private:
    struct Entry {
        Found found;
        DmarcRecord record;
    };
    const Lookup& dns_;
    std::map<std::string, Entry> cache_;
};

// RFC 9989 4.4: strict is the same name, relaxed the same organizational
// domain. nullopt: DNS failed.
std::optional<bool> aligned(Walker& w, const std::string& a, const std::string& b, bool strict) {
    std::string x = comparable_domain(a), y = comparable_domain(b);
    if (x.empty() || y.empty()) return false;
    if (x == y) return true;
    if (strict) return false;
    auto ox = w.organizational(x), oy = w.organizational(y);
    if (!ox || !oy) return std::nullopt;
    return *ox == *oy;
}

std::string milder(const std::string& p) { return p == "reject" ? "quarantine" : "none"; }

} // namespace

Result<DmarcRecord> parse_dmarc(std::string_view text) {
    auto tags = parse_tag_list(text);
    if (!tags) return tags.error();
    if (tags->empty() || tags->front().first != "v" || tags->front().second != "DMARC1")
        return make_error(Errc::data, "not a DMARC1 record");
    DmarcRecord r;
    for (auto& [k, v] : *tags) {
        std::string value = ascii_lower(v);
        if (k == "p" && valid_policy(value)) r.p = value;
        else if (k == "sp" && valid_policy(value)) r.sp = value;
        else if (k == "np" && valid_policy(value)) r.np = value;
        else if (k == "adkim") r.adkim_strict = value == "s";
        else if (k == "aspf") r.aspf_strict = value == "s";
        else if (k == "t") r.testing = value == "y";
        else if (k == "psd" && (value == "y" || value == "n")) r.psd = value;
        else if (k == "rua") {
            for (size_t start = 0;;) {
                size_t comma = v.find(',', start);
                std::string uri = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                while (!uri.empty() && uri.front() == ' ') uri.erase(0, 1);
                while (!uri.empty() && uri.back() == ' ') uri.pop_back();
                if (!uri.empty()) r.rua.push_back(uri);
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        }
    }
    return r;
}

std::optional<DmarcRecord> dmarc_policy_of(const Lookup& dns, const std::string& domain) {
    Walker w(dns);
    DmarcRecord record;
    for (auto& name : walk_names(comparable_domain(domain)))
        if (Walker::Found f = w.at(name, &record); f != Walker::Found::none)
            return f == Walker::Found::record ? std::optional<DmarcRecord>(record) : std::nullopt;
    return std::nullopt;
}

std::optional<std::string> organizational_domain(const Lookup& dns, const std::string& domain) {
    Walker w(dns);
    return w.organizational(comparable_domain(domain));
}

DmarcVerdict check_dmarc(const Lookup& dns, std::string_view message, const SpfVerdict& spf,
                         const std::vector<DkimResult>& dkim) {
    auto h = parse_header(message, message.size());
    if (!h) {
        DmarcVerdict out;
        out.result = "permerror";
        out.reason = "no From field";
        return out;
    }
    return check_dmarc(dns, *h, spf, dkim);
}

DmarcVerdict check_dmarc(const Lookup& dns, const Header& header, const SpfVerdict& spf,
                         const std::vector<DkimResult>& dkim) {
    DmarcVerdict out;
    const Header* h = &header;
    size_t froms = h->count("From");
    if (froms != 1) {
        out.result = "permerror";
        out.reason = froms ? "several From fields" : "no From field";
        return out;
    }
    std::string domain;
    for (auto& a : parse_address_list(*h->get("From"))) {
        std::string d = comparable_domain(a.domain);
        if (!domain.empty() && d != domain) {
            out.result = "permerror";
            out.reason = "authors in several domains";
            return out;
        }
        domain = d;
    }
    if (domain.empty() || domain.find('.') == std::string::npos) {
        out.result = "permerror";
        out.reason = "no author domain in From";
        return out;
    }
    out.from_domain = domain;
    // The policy: the first record of the walk.
    Walker w(dns);
    DmarcRecord record;
    for (auto& name : walk_names(domain)) {
        Walker::Found f = w.at(name, &record);
        if (f == Walker::Found::failed) {
            out.result = "temperror";
            out.reason = "DNS failure looking up _dmarc." + name;
            return out;
        }
        if (f == Walker::Found::record) {
            out.policy_domain = name;
            out.record = record;
            break;
        }
    }
    if (!out.record) {
        out.reason = "no DMARC record for " + domain;
        return out;
    }
    // Alignment: SPF's domain (MAIL FROM, or HELO), and any DKIM signature
    // that passed over the whole body.
    bool failed = false;
    if (spf.result == Spf::pass) {
        auto a = aligned(w, spf.domain, domain, record.aspf_strict);
        failed |= !a;
        out.spf_aligned = a.value_or(false);
    }
    for (auto& r : dkim) {
        if (r.result != "pass" || !r.whole_body || out.dkim_aligned) continue;
        auto a = aligned(w, r.domain, domain, record.adkim_strict);
        failed |= !a;
        out.dkim_aligned = a.value_or(false);
    }
    if (out.spf_aligned || out.dkim_aligned) {
        out.result = "pass";
        out.reason = out.dkim_aligned ? "DKIM aligned" : "SPF aligned";
        return out;
    }
    if (failed) {
        out.result = "temperror";
        out.reason = "DNS failure finding an organizational domain";
        return out;
    }
    out.result = "fail";
    out.reason = "neither SPF nor DKIM aligned with " + domain;
    // p for the policy domain itself; sp below it, np for a name that does not exist.
    out.policy = record.p;
    if (out.policy_domain != domain) {
        bool exists = false;
        for (RrType t : {RrType::a, RrType::aaaa, RrType::mx}) {
            auto a = dns(domain, t);
            if (a.kind == DnsAnswer::found || a.kind == DnsAnswer::failed) exists = true;
        }
        out.policy = !exists && !record.np.empty() ? record.np : !record.sp.empty() ? record.sp : record.p;
    }
    out.disposition = record.testing ? milder(out.policy) : out.policy;
    return out;
}

} // namespace mail::verify
