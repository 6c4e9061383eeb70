#include "sasl.hpp"

#include "base/owner.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.hpp"
#include "base/log.hpp"

namespace mail {

namespace {

constexpr int64_t penalty_window = 15 * 60;
constexpr int max_penalty = 15;

} // namespace

std::optional<Credentials> parse_plain(std::string_view d) {
    size_t a = d.find('\0');
    if (a == std::string_view::npos) return std::nullopt;
    size_t b = d.find('\0', a + 1);
    if (b == std::string_view::npos || d.find('\0', b + 1) != std::string_view::npos)
        return std::nullopt;
    Credentials c{std::string(d.substr(0, a)), std::string(d.substr(a + 1, b - a - 1)),
                  std::string(d.substr(b + 1))};
    if (c.user.empty()) return std::nullopt;
    return c;
}

HashSlot::HashSlot(const std::string& dir, bool wait) {
    long cpus = std::clamp(sysconf(_SC_NPROCESSORS_ONLN), 1L, 256L);
    auto open_lock = [&](const std::string& name) {
        return ::open((dir + "/" + name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
    };
    // true: a slot is ours, or there are no lock files (no limit)
    auto try_all = [&] {
        for (long i = 0; i < cpus; i++) {
            int fd = open_lock("hash." + std::to_string(i) + ".lock");
            if (fd < 0) return true;
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
                fd_ = fd;
                return true;
            }
            ::close(fd);
        }
        return false;
    };
    if (try_all() || !wait) return;
    // All busy: the waiters queue on one more lock, and the one in front
    // looks for whichever slot frees first (every 0.5 ms).
    int queue = open_lock("hash.queue.lock");
    if (queue < 0) return;
    if (::flock(queue, LOCK_EX) == 0)
        while (!try_all()) usleep(500);
    ::close(queue);
}

HashSlot::~HashSlot() {
    if (fd_ >= 0) ::close(fd_); // and the lock with it
}

Result<std::optional<std::string>> check_login(const Config& cfg, Directory& dir, std::string_view user,
                                               std::string_view password) {
    auto addr = parse_address(user);
    std::optional<Entry> entry;
    if (addr) {
        auto e = dir.lookup(*addr);
        if (!e && e.error().code != Errc::nouser) return e.error();
        if (e && e->kind == AddressKind::mailbox && !e->password_hash.empty()) entry = *e;
    }
    bool ok = false;
    {
        HashSlot slot(cfg.state_dir + "/auth");
        ok = verify_password(password, entry ? entry->password_hash : decoy_hash);
    }
    if (!ok || !entry) return std::optional<std::string>();
    return std::optional<std::string>(entry->address.str());
}

Result<Db> open_auth_db(const std::string& path) { return open_group_db(path); }

Result<bool> take_session_slot(Db& auth, const std::string& user, const std::string& ip, int max) {
    MAIL_TRY(auth.exec("CREATE TABLE IF NOT EXISTS sessions(pid INTEGER PRIMARY KEY, user TEXT NOT NULL,"
                      " ip TEXT NOT NULL)"));
    Transaction tx(auth);
    MAIL_TRY(tx.begin());
    // The rows of processes that are gone (ended, killed) go first.
    std::vector<int64_t> gone;
    auto all = auth.prepare("SELECT pid FROM sessions");
    if (!all) return all.error();
    for (;;) {
        auto row = all->step();
        if (!row) return row.error();
        if (!*row) break;
        pid_t pid = static_cast<pid_t>(all->int64(0));
        if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) gone.push_back(pid);
    }
    for (int64_t pid : gone) {
        auto del = auth.prepare("DELETE FROM sessions WHERE pid=?");
        if (!del) return del.error();
        MAIL_TRY(del->bind(1, pid).run());
    }
    auto count = auth.prepare("SELECT count(*) FROM sessions WHERE user=? AND ip=? AND pid!=?");
    if (!count) return count.error();
    count->bind(1, ascii_lower(user)).bind(2, ip).bind(3, static_cast<int64_t>(getpid()));
    auto row = count->step();
    if (!row) return row.error();
    if (*row && count->int64(0) >= max) return false; // the transaction rolls back
    auto add = auth.prepare("INSERT OR REPLACE INTO sessions(pid, user, ip) VALUES(?,?,?)");
    if (!add) return add.error();
    MAIL_TRY(add->bind(1, static_cast<int64_t>(getpid())).bind(2, ascii_lower(user)).bind(3, ip).run());
    MAIL_TRY(tx.commit());
    return true;
}

Db* LoginPenalty::db() {
    if (db_) return &*db_;
    auto d = open_auth_db(path_);
    if (!d) {
        log::error("auth.penalty", d.error());
        return nullptr;
    }
    if (Status st = d->exec("CREATE TABLE IF NOT EXISTS failures(key TEXT PRIMARY KEY,"
                            " count INTEGER NOT NULL, last INTEGER NOT NULL)");
        !st) {
        log::error("auth.penalty", st.error());
        return nullptr;
    }
    db_ = std::move(*d);
    return &*db_;
}

int LoginPenalty::fail(const std::string& ip, const std::string& user) {
    Db* d = db();
    if (!d) return max_penalty; // cannot count: assume the worst
    int64_t now = time(nullptr);
    int worst = 0;
    for (const std::string& key : {"ip:" + ip, "user:" + ascii_lower(user)}) {
        auto st = d->prepare(
            "INSERT INTO failures(key, count, last) VALUES (?1, 1, ?2) ON CONFLICT(key) DO UPDATE"
            " SET count = CASE WHEN last < ?2 - ?3 THEN 1 ELSE count + 1 END, last = ?2"
            " RETURNING count");
        if (!st) return max_penalty;
        st->bind(1, key).bind(2, now).bind(3, penalty_window);
        auto row = st->step();
        if (!row || !*row) return max_penalty;
        worst = std::max(worst, static_cast<int>(st->int64(0)));
    }
    return std::min(max_penalty, 1 << std::min(worst - 1, 4));
}

void LoginPenalty::wait_after_failure(const std::string& ip, const std::string& user,
                                      std::string_view tag) {
    int delay = fail(ip, user);
    log::warn(tag, "{} failed login for '{}' (delay {}s)", ip, user, delay);
    sleep(static_cast<unsigned>(delay));
}

void LoginPenalty::success(const std::string& user) {
    if (Db* d = db()) {
        auto st = d->prepare("DELETE FROM failures WHERE key = ?1");
        if (st) (void)st->bind(1, "user:" + ascii_lower(user)).run();
    }
}

} // namespace mail
