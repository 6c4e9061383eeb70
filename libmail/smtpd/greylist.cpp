#include "greylist.hpp"

#include <fmt/format.h>

#include "base/clock.hpp"
#include "base/owner.hpp"
#include "base/log.hpp"
#include "message/address.hpp"
#include "smtpd/session.hpp"
#include "verify/dmarc.hpp"
#include "verify/ip.hpp"

namespace mail::smtp {

namespace {

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS triplets(network TEXT NOT NULL, sender TEXT NOT NULL, rcpt TEXT NOT NULL,
  first INTEGER NOT NULL, last INTEGER NOT NULL, passed INTEGER NOT NULL,
  PRIMARY KEY(network, sender, rcpt)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS triplets_last ON triplets(last);
CREATE TABLE IF NOT EXISTS clients(network TEXT PRIMARY KEY, passes INTEGER NOT NULL, last INTEGER NOT NULL)
  WITHOUT ROWID;
)";

} // namespace

std::string client_network(const std::string& ip) { return verify::network_of(ip, 24, 64); }

Result<Db> open_greylist(const Config& cfg) { return open_group_db(cfg.greylist_db_path(), schema); }

Result<GreylistVerdict> greylist(Db& db, const Config& cfg, const std::string& ip, const std::string& sender,
                                 const std::string& rcpt, int64_t now) {
    const auto& g = cfg.greylist;
    std::string net = client_network(ip);
    GreylistVerdict v;
    if (net.empty()) return v.pass = true, v.why = "no client address", v;
    Transaction tx(db);
    MAIL_TRY(tx.begin_unsynced()); // lost in a power cut: a sender retries once more
    auto client = db.cached("SELECT passes, last FROM clients WHERE network = ?");
    if (!client) return client.error();
    (*client)->bind(1, net);
    auto row = (*client)->step();
    if (!row) return row.error();
    bool trusted = *row && g.trust_after > 0 && (*client)->int64(0) >= g.trust_after && (*client)->int64(1) > now - g.expire;
    (*client)->reset();
    if (trusted) {
        auto touch = db.cached("UPDATE clients SET last = ? WHERE network = ?");
        if (!touch) return touch.error();
        (*touch)->bind(1, now).bind(2, net);
        MAIL_TRY((*touch)->run());
        MAIL_TRY(tx.commit());
        return v.pass = true, v.why = "trusted client network", v;
    }
    std::string from = ascii_lower(sender), to = ascii_lower(rcpt);
    auto get = db.cached("SELECT first, last, passed FROM triplets WHERE network = ? AND sender = ? AND rcpt = ?");
    if (!get) return get.error();
    (*get)->bind(1, net).bind(2, from).bind(3, to);
    row = (*get)->step();
    if (!row) return row.error();
    int64_t first = now, passed = 0;
    bool known = false;
    if (*row) {
        int64_t last = (*get)->int64(1);
        known = last > now - g.expire; // forgotten when unused this long
        passed = (*get)->int64(2);
        first = (*get)->int64(0);
    }
    (*get)->reset();
    bool newly_passed = false;
    if (!known) {
        first = now, passed = 0;
        v.why = "new";
    } else if (passed) {
        v.pass = true, v.why = "passed before";
    } else if (now - first < g.delay) {
        v.why = "too early";
    } else if (now - first > g.retry_window) {
        first = now; // retried too late: a new first attempt
        v.why = "retried after the window";
    } else {
        v.pass = true, passed = 1, newly_passed = true, v.why = "retried";
    }
    if (!v.pass) v.wait = first + g.delay - now;
    auto put = db.cached("INSERT OR REPLACE INTO triplets VALUES(?,?,?,?,?,?)");
    if (!put) return put.error();
    (*put)->bind(1, net).bind(2, from).bind(3, to).bind(4, first).bind(5, now).bind(6, passed);
    MAIL_TRY((*put)->run());
    if (newly_passed) {
        auto count = db.cached("INSERT INTO clients VALUES(?, 1, ?) ON CONFLICT DO UPDATE SET "
                               "passes = CASE WHEN last > ? THEN passes + 1 ELSE 1 END, last = excluded.last");
        if (!count) return count.error();
        (*count)->bind(1, net).bind(2, now).bind(3, now - g.expire);
        MAIL_TRY((*count)->run());
    }
    if (!known) { // bounded: now and then, the unused go, then the oldest beyond the cap
        auto n = db.cached("SELECT count(*) FROM triplets");
        if (!n) return n.error();
        auto r = (*n)->step();
        if (!r) return r.error();
        int64_t rows = (*n)->int64(0);
        (*n)->reset();
        if (rows > g.max_entries || (now % 97) == 0) {
            auto old = db.cached("DELETE FROM triplets WHERE last <= ?");
            if (!old) return old.error();
            (*old)->bind(1, now - g.expire);
            MAIL_TRY((*old)->run());
            auto oldest = db.cached("DELETE FROM triplets WHERE (network, sender, rcpt) IN (SELECT network, sender, rcpt "
                                    "FROM triplets ORDER BY last LIMIT max(0, (SELECT count(*) FROM triplets) - ?))");
            if (!oldest) return oldest.error();
            (*oldest)->bind(1, static_cast<int64_t>(g.max_entries));
            MAIL_TRY((*oldest)->run());
            auto gone = db.cached("DELETE FROM clients WHERE last <= ?");
            if (!gone) return gone.error();
            (*gone)->bind(1, now - g.expire);
            MAIL_TRY((*gone)->run());
        }
    }
    MAIL_TRY(tx.commit());
    return v;
}

bool Session::greylist_applies() const {
    return cfg_.greylist.enabled && opt_.role == Role::mx && !user_ && !peer_.ip.empty();
}

namespace {

// greylist.allow: the client's network, the sender's address, or its
// domain (and the domains below it).
bool grey_allowed(const std::vector<std::string>& allow, const std::string& ip, const std::string& sender) {
    auto client = verify::parse_ip(ip);
    std::string from = ascii_lower(sender);
    std::string domain = from.substr(from.rfind('@') + 1);
    for (auto& entry : allow) {
        std::string a = ascii_lower(entry);
        if (auto net = verify::parse_network(a)) {
            if (client && verify::in_network(*client, net->first, net->second)) return true;
        } else if (a.find('@') != std::string::npos ? a == from
                                                     : !from.empty() && (domain == a || domain.ends_with("." + a))) {
            return true;
        }
    }
    return false;
}

} // namespace

int64_t Session::greylisted(const std::string& rcpt) {
    if (!grey_skip_) {
        grey_skip_ = grey_allowed(cfg_.greylist.allow, peer_.ip, env_.sender);
        // SPF passes for a domain whose DMARC policy is reject or
        // quarantine: such senders are real servers that retry.
        net::Resolver* dns = *grey_skip_ || !cfg_.greylist.skip_dmarc || env_.sender.empty()
                                 ? nullptr
                                 : checks_resolver(cfg_, false);
        if (dns) {
            verify::Lookup lookup = [dns](const std::string& n, net::RrType t) { return dns->query(n, t); };
            auto spf = verify::check_spf(lookup, {peer_.ip, helo_, host_name(cfg_), time(nullptr)}, env_.sender);
            if (spf.result == verify::Spf::pass) {
                auto record = verify::dmarc_policy_of(lookup, spf.domain);
                grey_skip_ = record && (record->p == "reject" || record->p == "quarantine");
            }
        }
        if (*grey_skip_) log::info("smtpd.greylist", "{} <{}>: not greylisted (allowed, or SPF pass under DMARC)", peer_.ip, env_.sender);
    }
    if (*grey_skip_) return 0;
    static std::optional<Db> db; // one per process, opened on first use
    if (!db) {
        auto opened = open_greylist(cfg_);
        if (!opened) return log::error("smtpd.greylist", opened.error()), 0;
        db.emplace(std::move(*opened));
    }
    auto v = greylist(*db, cfg_, peer_.ip, env_.sender, rcpt, mail::now());
    if (!v) return log::error("smtpd.greylist", v.error()), 0;
    log::info("smtpd.greylist", "{} <{}> -> <{}>: {} ({})", peer_.ip, env_.sender, rcpt, v->pass ? "pass" : "greylisted", v->why);
    return v->pass ? 0 : std::max<int64_t>(1, v->wait);
}

} // namespace mail::smtp
