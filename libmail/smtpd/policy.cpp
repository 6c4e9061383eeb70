#include "policy.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "directory/resolve.hpp"

namespace mail::smtp {

namespace {

Verdict refuse(int code, std::string dsn, std::string text) {
    return Verdict{code, std::move(dsn), std::move(text), ""};
}

Verdict relay_denied() { return refuse(554, "5.7.1", "relay access denied"); }

// More than one '@' outside a quoted local part: x@ext@ours.
bool several_ats(std::string_view p) {
    int ats = 0;
    bool quoted = false;
    for (size_t i = 0; i < p.size(); i++) {
        if (quoted && p[i] == '\\') i++;
        else if (p[i] == '"') quoted = !quoted;
        else if (p[i] == '@' && !quoted) ats++;
    }
    return ats > 1 && !p.starts_with("@"); // "@a,@b:x@c" is a source route
}

} // namespace

Verdict check_recipient(Directory& dir, const Config& cfg, bool relay_allowed,
                        std::string_view path) {
    if (path.empty()) return refuse(501, "5.1.3", "empty recipient");
    if (is_bare_postmaster(path)) {
        // Queued as it is: local delivery finds the postmaster's address.
        auto pm = postmaster(dir, cfg);
        if (pm) return Verdict{250, "2.1.5", "recipient OK", "postmaster"};
        if (pm.error().code != Errc::nouser && pm.error().code != Errc::data)
            return refuse(451, "4.3.0", "temporary local problem");
        log::err("smtpd.postmaster", "{}", pm.error().user);
        return refuse(550, "5.1.1", "no postmaster here");
    }
    auto addr = parse_path("<" + std::string(path) + ">");
    if (!addr || several_ats(path)) {
        if (several_ats(path) && !relay_allowed) return relay_denied();
        return refuse(501, "5.1.3", "bad recipient address");
    }
    auto ours = dir.has_domain(addr->domain);
    if (!ours) return refuse(451, "4.3.0", "temporary local problem");
    if (!*ours) {
        if (!relay_allowed) return relay_denied();
        return Verdict{250, "2.1.5", "recipient OK", addr->str()};
    }
    // Our domain, but a local part that another MTA might route onwards.
    if (addr->local.find_first_of("@%!") != std::string::npos) return relay_denied();
    auto res = resolve(dir, *addr, cfg);
    if (!res) {
        if (res.error().code == Errc::nouser) return refuse(550, "5.1.1", "no such user here");
        if (res.error().code == Errc::data) return refuse(550, "5.4.6", res.error().user);
        return refuse(451, "4.3.0", "temporary local problem");
    }
    return Verdict{250, "2.1.5", "recipient OK", addr->str()};
}

bool owns(Directory& dir, const Config& cfg, const std::string& user, const Address& a) {
    if (iequals(a.str(), user)) return true;
    auto entry = dir.lookup(a);
    std::string base, tag;
    if (!entry && split_subaddress(a.local, cfg.delivery.recipient_delimiter, base, tag))
        entry = dir.lookup(Address{base, a.domain});
    if (!entry) return false;
    if (entry->kind == AddressKind::mailbox) return iequals(entry->address.str(), user);
    if (entry->kind != AddressKind::alias) return false;
    auto res = resolve(dir, entry->address, cfg);
    return res && std::any_of(res->local.begin(), res->local.end(),
                              [&](const LocalTarget& t) { return iequals(t.mailbox.str(), user); });
}

} // namespace mail::smtp
