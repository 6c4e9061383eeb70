#include "resolve.hpp"

#include "base/log.hpp"

#include <set>

namespace mail {
namespace {

Error no_user_error(const Address& a) {
    return make_error(Errc::nouser, "no such user: " + a.str());
}

struct Walk {
    Directory& dir;
    const Config& cfg;
    Resolution out;
    std::set<std::string> seen;
    bool postmaster_fallback = true; // postmaster@ours with no entry: to postmaster()
};

Result<Entry> find_entry(Walk& w, const Address& a, std::string& tag) {
    auto e = w.dir.lookup(a);
    if (e || e.error().code != Errc::nouser) return e;
    std::string base;
    if (split_subaddress(a.local, w.cfg.delivery.recipient_delimiter, base, tag)) {
        e = w.dir.lookup(Address{base, a.domain});
        if (e || e.error().code != Errc::nouser) return e;
        tag.clear();
    }
    auto ours = w.dir.has_domain(a.domain);
    if (!ours) return ours.error();
    if (!*ours) return make_error(Errc::nouser, "no such domain: " + a.domain);
    auto catchall = w.dir.lookup(Address{"", a.domain});
    if (!catchall && catchall.error().code == Errc::nouser) return no_user_error(a);
    return catchall;
}

Status expand(Walk& w, const Address& a, int depth) {
    if (depth > w.cfg.delivery.max_alias_depth)
        return make_error(Errc::data, "alias nesting too deep at " + a.str());
    std::string key = ascii_lower(a.str());
    if (!w.seen.insert(key).second) return {};
    std::string tag;
    auto e = find_entry(w, a, tag);
    if (!e && e.error().code == Errc::nouser && depth == 0 && w.postmaster_fallback &&
        iequals(a.local, "postmaster")) {
        auto pm = postmaster(w.dir, w.cfg);
        if (!pm) return pm.error();
        return expand(w, *pm, depth + 1);
    }
    if (!e) {
        // An address outside our domains is forwarded, not refused.
        if (e.error().code == Errc::nouser && depth > 0) {
            auto ours = w.dir.has_domain(a.domain);
            if (!ours) return ours.error();
            if (!*ours) {
                w.out.external.push_back(a.str());
                return {};
            }
        }
        return e.error();
    }
    if (e->kind == AddressKind::mailbox) {
        w.out.local.push_back({e->address, tag, e->quota});
        return {};
    }
    for (auto& t : e->targets) {
        auto ta = parse_address(t);
        if (!ta) return make_error(Errc::data, "bad target " + t + " in " + e->address.str());
        MAIL_TRY(expand(w, *ta, depth + 1));
    }
    return {};
}

Result<Resolution> resolve_walk(Walk& w, const Address& a) {
    auto ours = w.dir.has_domain(a.domain);
    if (!ours) return ours.error();
    if (!*ours) return make_error(Errc::nouser, "not a local domain: " + a.domain);
    MAIL_TRY(expand(w, a, 0));
    // Two paths to one mailbox deliver once.
    std::vector<LocalTarget> uniq;
    std::set<std::string> mailboxes;
    for (auto& t : w.out.local)
        if (mailboxes.insert(t.mailbox.str()).second) uniq.push_back(t);
    w.out.local = std::move(uniq);
    if (w.out.local.empty() && w.out.external.empty())
        return make_error(Errc::data, "alias loop at " + a.str() + ": no final recipient");
    return std::move(w.out);
}

} // namespace

Result<Resolution> resolve(Directory& dir, const Address& a, const Config& cfg) {
    Walk w{dir, cfg, {}, {}};
    return resolve_walk(w, a);
}

bool is_bare_postmaster(std::string_view rcpt) { return iequals(rcpt, "postmaster"); }

Result<Address> postmaster(Directory& dir, const Config& cfg) {
    if (!cfg.queue.postmaster.empty()) {
        auto a = parse_address(cfg.queue.postmaster);
        if (!a) return make_error(Errc::data, "queue.postmaster is not an address: " + a.error().user);
        return a;
    }
    auto domains = dir.domains();
    if (!domains) return domains.error();
    std::vector<std::string> candidates{ascii_lower(host_name(cfg))};
    for (auto& d : *domains) candidates.push_back(d.name);
    for (auto& d : candidates) {
        Walk w{dir, cfg, {}, {}, false};
        Address a{"postmaster", d};
        auto r = resolve_walk(w, a);
        if (r) return a;
        if (r.error().code != Errc::nouser && r.error().code != Errc::data) return r.error();
    }
    return make_error(Errc::nouser, "no postmaster address: set queue.postmaster or add postmaster@ one of the domains");
}

Signature signature_for(Directory& dir, const std::string& user) {
    Signature s;
    auto a = parse_address(user);
    if (!a) return s;
    if (auto sig = dir.signature(*a); sig && *sig) s.text = (*sig)->text, s.html = (*sig)->html;
    else if (!sig && sig.error().code != Errc::nouser) log::error("signature", sig.error());
    if (auto d = dir.disclaimer(a->domain); d && *d) s.disclaimer_text = (*d)->text, s.disclaimer_html = (*d)->html;
    else if (!d && d.error().code != Errc::nouser) log::error("signature", d.error());
    return s;
}

} // namespace mail
