#include "ratelimit.hpp"

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/owner.hpp"
#include "smtpd/session.hpp"
#include "verify/ip.hpp"

namespace mail::smtp {

namespace {

constexpr const char* schema =
    "CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY, start INTEGER NOT NULL, count INTEGER NOT NULL)"
    " WITHOUT ROWID";

} // namespace

Result<Db> open_ratelimit(const Config& cfg) { return open_group_db(cfg.ratelimit_db_path(), schema); }

std::vector<RateKey> client_keys(const std::string& kind, const std::string& ip, const int (&limits)[3]) {
    static const int v4[3] = {32, 26, 21}, v6[3] = {64, 48, 32};
    std::vector<RateKey> out;
    for (int i = 0; i < 3; i++) {
        std::string net = verify::network_of(ip, v4[i], v6[i]);
        if (!net.empty() && limits[i] > 0) out.push_back({kind + " " + net, limits[i]});
    }
    return out;
}

Result<int64_t> rate_count(Db& db, const std::string& key, int64_t window, int64_t now) {
    auto st = db.cached("SELECT count FROM counters WHERE key = ? AND start = ?");
    if (!st) return st.error();
    (*st)->bind(1, key).bind(2, now - now % window);
    auto row = (*st)->step();
    if (!row) return row.error();
    int64_t n = *row ? (*st)->int64(0) : 0;
    (*st)->reset();
    return n;
}

Result<std::optional<std::string>> rate_take(Db& db, const std::vector<RateKey>& keys, int64_t window, int64_t now,
                                             int64_t n) {
    if (keys.empty()) return std::optional<std::string>();
    int64_t start = now - now % window;
    Transaction tx(db);
    MAIL_TRY(tx.begin_unsynced()); // counts lost in a power cut only let a few more through
    for (auto& k : keys) {
        auto c = rate_count(db, k.key, window, now);
        if (!c) return c.error();
        if (k.limit > 0 && *c + n > k.limit) return std::optional<std::string>(k.key);
    }
    auto up = db.cached("INSERT INTO counters VALUES(?,?,?) ON CONFLICT DO UPDATE SET "
                        "count = CASE WHEN start = excluded.start THEN count + excluded.count ELSE excluded.count END, "
                        "start = excluded.start");
    if (!up) return up.error();
    for (auto& k : keys) {
        (*up)->bind(1, k.key).bind(2, start).bind(3, n);
        MAIL_TRY((*up)->run());
        (*up)->reset();
    }
    if (now % 61 == 0) { // now and then, the windows long gone
        auto old = db.cached("DELETE FROM counters WHERE start < ?");
        if (!old) return old.error();
        (*old)->bind(1, now - 2 * 86400);
        MAIL_TRY((*old)->run());
    }
    MAIL_TRY(tx.commit());
    return std::optional<std::string>();
}

namespace {

// One per process, opened on first use; nullptr when the limits are off
// or it cannot be opened (logged once).
Db* limits_db(const Config& cfg) {
    static std::optional<Db> db;
    static bool failed = false;
    if (!cfg.ratelimit.enabled || failed) return nullptr;
    if (!db) {
        auto opened = open_ratelimit(cfg);
        if (!opened) {
            log::error("smtpd.ratelimit", opened.error());
            failed = true;
            return nullptr;
        }
        db.emplace(std::move(*opened));
    }
    return &*db;
}

} // namespace

bool Session::rate_limited(const std::vector<RateKey>& keys, int64_t window) {
    Db* db = limits_db(cfg_);
    if (!db || keys.empty()) return false;
    auto over = rate_take(*db, keys, window, mail::now());
    if (!over) return log::error("smtpd.ratelimit", over.error()), false;
    if (*over) log::info("smtpd.ratelimit", "{}: over the limit of {} per {} s", peer_.ip, **over, window);
    return over->has_value();
}

// Dictionary attacks: unknown recipients per client /32 (/64) and hour.
bool Session::too_many_failed_rcpts() {
    Db* db = limits_db(cfg_);
    if (!db || user_ || cfg_.ratelimit.failed_rcpts <= 0) return false;
    auto keys = client_keys("fail", peer_.ip, {cfg_.ratelimit.failed_rcpts, 0, 0});
    if (keys.empty()) return false;
    auto n = rate_count(*db, keys[0].key, 3600, mail::now());
    if (!n) return log::error("smtpd.ratelimit", n.error()), false;
    if (*n >= cfg_.ratelimit.failed_rcpts)
        log::info("smtpd.ratelimit", "{}: {} unknown recipients this hour, closing", peer_.ip, *n);
    return *n >= cfg_.ratelimit.failed_rcpts;
}

void Session::count_failed_rcpt() {
    Db* db = limits_db(cfg_);
    if (!db || user_) return;
    auto keys = client_keys("fail", peer_.ip, {1000000000, 0, 0});
    if (auto r = rate_take(*db, keys, 3600, mail::now()); !r) log::error("smtpd.ratelimit", r.error());
}

} // namespace mail::smtp
