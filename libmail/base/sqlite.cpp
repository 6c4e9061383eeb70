#include "sqlite.hpp"

#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <unistd.h>

namespace mail {

void Db::Close::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void Stmt::Finalize::operator()(sqlite3_stmt* st) const {
    auto p = pool.lock();
    if (!p || p->idle.size() >= StmtPool::max_idle) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    p->idle.emplace(sqlite3_sql(st), st);
}

void StmtPool::clear() {
    for (auto& [sql, st] : idle) sqlite3_finalize(st);
    idle.clear();
}

constexpr int busy_timeout_ms = 10000;
// A WAL with more frames than this is checkpointed and truncated after a
// commit. Short-lived processes (one delivery each) do not checkpoint at
// close, which would cost two more syncs per delivery; instead the next
// process to open the database re-reads the WAL, so it is kept short.
constexpr int wal_truncate_frames = 128;

namespace {

// SQLite's own busy handler sleeps 1, 2, 5, 10 ... ms between tries: with
// several delivery processes committing to one mailbox index (each commit
// is about a millisecond), most of the time went to sleeping. Retry every
// 200 us instead, up to the same total.
int short_busy_wait(void*, int count) {
    constexpr int step_us = 200;
    if (static_cast<long>(count) * step_us >= busy_timeout_ms * 1000L) return 0;
    usleep(step_us);
    return 1;
}

int truncate_long_wal(void*, sqlite3* db, const char* name, int frames) {
    if (frames < wal_truncate_frames) return SQLITE_OK;
    // Never wait for readers here: a busy WAL is truncated by a later commit.
    sqlite3_busy_handler(db, nullptr, nullptr);
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_handler(db, short_busy_wait, nullptr);
    return SQLITE_OK;
}

Status check_wal(Db& db, std::string_view pragma) {
    // journal_mode returns the mode in force; anything but wal is a failure.
    auto st = db.prepare(pragma);
    if (!st) return st.error();
    auto row = st->step();
    // A new database is still in rollback mode while concurrent openers
    // switch it to WAL: there SQLite answers SQLITE_BUSY without calling
    // the busy handler (it would deadlock). Wait and try again.
    for (int waited_us = 0; !row && (sqlite3_extended_errcode(db.handle()) & 0xff) == SQLITE_BUSY &&
                            waited_us < busy_timeout_ms * 1000;
         waited_us += 1000) {
        usleep(1000);
        st->reset();
        row = st->step();
    }
    if (!row) return row.error();
    if (!*row || st->text(0) != "wal")
        return make_error(Errc::tempfail, "database unavailable", db.path() + ": not in WAL mode");
    return {};
}

} // namespace

Result<Db> Db::open(const std::string& path, Sync sync, Access access, unsigned mode) {
    Db db;
    db.path_ = path;
    sqlite3* raw = nullptr;
    int flags = access == Access::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (access == Access::create) {
        flags |= SQLITE_OPEN_CREATE;
        // Password hashes, sealed secrets, mail metadata: the owner's only
        // unless `mode` says otherwise.
        Fd made(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!made && errno != EEXIST) return sys_error("create", path);
        if (made && mode != 0600 && ::fchmod(made.get(), mode) != 0) return sys_error("fchmod", path);
    }
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    db.db_.reset(raw);
    if (rc != SQLITE_OK) {
        Error e = db.error("open");
        if (rc == SQLITE_CANTOPEN && access != Access::create) e.code = Errc::noinput;
        return e;
    }
    sqlite3_busy_handler(raw, short_busy_wait, nullptr);
    sqlite3_extended_result_codes(raw, 1);
    if (access == Access::read_only) {
        // A reader writes nothing and so never checkpoints; the mode is the writers' choice.
        MAIL_TRY(check_wal(db, "PRAGMA journal_mode"));
    } else {
        sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        sqlite3_wal_hook(raw, truncate_long_wal, nullptr);
        MAIL_TRY(check_wal(db, "PRAGMA journal_mode=WAL"));
    }
    MAIL_TRY(db.exec(sync == Sync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    MAIL_TRY(db.exec("PRAGMA foreign_keys=ON"));
    auto fk = db.prepare("PRAGMA foreign_keys");
    if (!fk) return fk.error();
    auto fkrow = fk->step();
    if (!fkrow || !*fkrow || fk->int64(0) != 1)
        return make_error(Errc::tempfail, "database unavailable", path + ": foreign keys off");
    return db;
}

// The level cannot change inside a transaction: it is set before BEGIN
// and set back after COMMIT or ROLLBACK.
Status Transaction::begin_unsynced() {
    auto st = db_.prepare("PRAGMA synchronous");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    int64_t level = *row ? st->int64(0) : 2;
    MAIL_TRY(db_.exec("PRAGMA synchronous=NORMAL"));
    restore_level_ = level;
    return begin();
}

Status Transaction::restore() {
    if (restore_level_ < 0) return {};
    int64_t level = restore_level_;
    restore_level_ = -1;
    return db_.exec(level >= 2 ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

Status Db::exec(std::string_view sql) {
    char* msg = nullptr;
    std::string s(sql);
    if (sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string detail = path_ + ": " + s.substr(0, 60) + ": " + (msg ? msg : "?");
        sqlite3_free(msg);
        return make_error(Errc::tempfail, "database error", detail);
    }
    return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
    if (auto it = pool_->idle.find(sql); it != pool_->idle.end()) {
        sqlite3_stmt* st = it->second;
        pool_->idle.erase(it);
        return Stmt(st, pool_);
    }
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &st, nullptr) !=
        SQLITE_OK)
        return error("prepare");
    return Stmt(st, pool_);
}

Result<Stmt*> Db::cached(const std::string& sql) {
    auto it = cache_->find(sql);
    if (it == cache_->end()) {
        auto st = prepare(sql);
        if (!st) return st.error();
        it = cache_->emplace(sql, std::move(*st)).first;
    }
    it->second.reset();
    return &it->second;
}

void Db::release_memory() {
    pool_->clear();
    sqlite3_db_release_memory(db_.get());
}

int64_t Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }
bool Db::in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

int Db::changes() const { return sqlite3_changes(db_.get()); }

Error Db::error(std::string_view what) const {
    const char* msg = db_ ? sqlite3_errmsg(db_.get()) : "no handle";
    return make_error(Errc::tempfail, "database error",
                      path_ + ": " + std::string(what) + ": " + msg);
}

int Db::user_version() {
    auto st = prepare("PRAGMA user_version");
    if (!st) return -1;
    auto row = st->step();
    return (row && *row) ? static_cast<int>(st->int64(0)) : -1;
}

Stmt& Stmt::bind(int i, int64_t v) {
    sqlite3_bind_int64(st_.get(), i, v);
    return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
    sqlite3_bind_text(st_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}
Stmt& Stmt::bind_null(int i) {
    sqlite3_bind_null(st_.get(), i);
    return *this;
}

Result<bool> Stmt::step() {
    int rc = sqlite3_step(st_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3* h = sqlite3_db_handle(st_.get());
    const char* file = sqlite3_db_filename(h, "main");
    Error e = make_error(Errc::tempfail, "database error",
                         std::string(file ? file : "") + ": step: " + sqlite3_errmsg(h));
    if ((rc & 0xff) == SQLITE_CONSTRAINT) e.code = Errc::cantcreat;
    return e;
}

Status Stmt::run() {
    for (;;) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) return {};
    }
}

int64_t Stmt::int64(int col) const { return sqlite3_column_int64(st_.get(), col); }
std::string Stmt::text(int col) const {
    auto p = sqlite3_column_text(st_.get(), col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(st_.get(), col)))
             : std::string();
}
bool Stmt::is_null(int col) const { return sqlite3_column_type(st_.get(), col) == SQLITE_NULL; }
Stmt& Stmt::reset() {
    sqlite3_reset(st_.get());
    sqlite3_clear_bindings(st_.get());
    return *this;
}

} // namespace mail
