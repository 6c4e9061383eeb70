// A thin RAII layer over SQLite: a connection opened with the pragmas every
// facteur database uses (WAL, foreign keys, busy timeout, each checked) and
// prepared statements with positional binding.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mail {

class Stmt;

// Statements a connection prepared and is done with, kept for the next
// prepare() of the same SQL: parsing a statement costs more than running
// most of them, and a session prepares the same few many times.
struct StmtPool {
    static constexpr size_t max_idle = 64;
    std::multimap<std::string, sqlite3_stmt*, std::less<>> idle;
    StmtPool() = default;
    StmtPool(const StmtPool&) = delete;
    StmtPool& operator=(const StmtPool&) = delete;
    ~StmtPool() { clear(); }
    void clear(); // finalize every idle statement
};

class Db {
  public:
    enum class Sync { normal, full };
    enum class Access { read_only, read_write, create };
    // A database made by Access::create gets `mode` whatever the umask
    // (SQLite gives its -wal and -shm the same).
    static Result<Db> open(const std::string& path, Sync sync, Access access, unsigned mode = 0600);
    sqlite3* handle() const { return db_.get(); }
    const std::string& path() const { return path_; }
    Status exec(std::string_view sql);
    Result<Stmt> prepare(std::string_view sql);
    // A statement prepared once per connection and kept (reset, bindings
    // cleared): for the statements run once per message.
    Result<Stmt*> cached(const std::string& sql);
    int64_t last_insert_id() const;
    int changes() const;
    Error error(std::string_view what) const;
    int user_version();
    bool in_transaction() const; // inside BEGIN ... COMMIT
    // Finalize the statements kept for reuse and give back the page
    // cache's memory: before a long wait (IDLE).
    void release_memory();

  private:
    struct Close {
        void operator()(sqlite3* db) const;
    };
    std::unique_ptr<sqlite3, Close> db_;
    std::string path_;
    std::shared_ptr<StmtPool> pool_ = std::make_shared<StmtPool>(); // emptied before the connection closes
    std::unique_ptr<std::map<std::string, Stmt>> cache_ = std::make_unique<std::map<std::string, Stmt>>();
};

// Statement. step() returns true for a row, false when done.
class Stmt {
  public:
    // With a pool, the statement goes back to it (reset) when destroyed.
    explicit Stmt(sqlite3_stmt* st, std::weak_ptr<StmtPool> pool = {}) : st_(st, Finalize{std::move(pool)}) {}
    Stmt& bind(int i, int64_t v);
    Stmt& bind(int i, std::string_view v);
    Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Stmt& bind_null(int i);
    Result<bool> step();
    Status run(); // step until done
    int64_t int64(int col) const;
    std::string text(int col) const;
    bool is_null(int col) const;
    Stmt& reset();

  private:
    struct Finalize {
        std::weak_ptr<StmtPool> pool;
        void operator()(sqlite3_stmt* st) const;
    };
    std::unique_ptr<sqlite3_stmt, Finalize> st_;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back if not committed.
class Transaction {
  public:
    explicit Transaction(Db& db) : db_(db) {}
    Status begin() {
        MAIL_TRY(db_.exec("BEGIN IMMEDIATE"));
        open_ = true;
        return {};
    }
    // A transaction whose COMMIT does not wait for the disk (synchronous=
    // NORMAL in WAL mode, for this transaction only): safe from any process
    // crash, while a power loss may undo it. For changes that may be lost
    // that way, never for anything acknowledged as stored.
    Status begin_unsynced();
    Status commit() {
        MAIL_TRY(db_.exec("COMMIT"));
        open_ = false;
        return restore();
    }
    ~Transaction() {
        if (open_) (void)db_.exec("ROLLBACK");
        (void)restore();
    }

  private:
    Status restore();
    Db& db_;
    bool open_ = false;
    int64_t restore_level_ = -1; // the synchronous level to go back to
};

} // namespace mail
