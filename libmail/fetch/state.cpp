#include "state.hpp"

namespace mail::fetch {

namespace {

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS accounts(
  id INTEGER PRIMARY KEY,
  first_sync INTEGER NOT NULL DEFAULT 0,
  last_attempt INTEGER NOT NULL DEFAULT 0,
  last_success INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  failures INTEGER NOT NULL DEFAULT 0,
  auth_failures INTEGER NOT NULL DEFAULT 0,
  fetched INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  next_try INTEGER NOT NULL DEFAULT 0,
  disabled TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS folders(
  account INTEGER NOT NULL, name TEXT NOT NULL,
  uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL,
  PRIMARY KEY(account, name));
CREATE TABLE IF NOT EXISTS fetched(
  account INTEGER NOT NULL, folder TEXT NOT NULL, key TEXT NOT NULL,
  PRIMARY KEY(account, folder, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS in_flight(
  account INTEGER NOT NULL, folder TEXT NOT NULL,
  PRIMARY KEY(account, folder));
)";

} // namespace

std::string message_key(std::string_view message_id, int64_t size) {
    return std::string(message_id) + " " + std::to_string(size);
}

Result<State> State::open(const std::string& state_dir) {
    auto db = Db::open(state_dir + "/fetch.sqlite", Db::Sync::full, Db::Access::create);
    if (!db) return db.error();
    MAIL_TRY(db->exec(schema));
    return State(std::move(*db));
}

Result<AccountHealth> State::health(int64_t account) {
    auto st = db_.prepare("SELECT first_sync, last_attempt, last_success, last_error, failures,"
                          " auth_failures, fetched, bytes, next_try, disabled FROM accounts WHERE id=?");
    if (!st) return st.error();
    st->bind(1, account);
    auto row = st->step();
    if (!row) return row.error();
    AccountHealth h;
    if (!*row) return h;
    h.first_sync = st->int64(0), h.last_attempt = st->int64(1), h.last_success = st->int64(2);
    h.last_error = st->text(3), h.failures = st->int64(4), h.auth_failures = st->int64(5);
    h.fetched = st->int64(6), h.bytes = st->int64(7), h.next_try = st->int64(8);
    h.disabled = st->text(9);
    return h;
}

Status State::save_health(int64_t account, const AccountHealth& h) {
    // The counters are the database's: delivered() adds to them as it goes.
    auto st = db_.prepare(
        "INSERT INTO accounts(id, first_sync, last_attempt, last_success, last_error, failures,"
        " auth_failures, next_try, disabled) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"
        " ON CONFLICT(id) DO UPDATE SET first_sync=?2, last_attempt=?3, last_success=?4,"
        " last_error=?5, failures=?6, auth_failures=?7, next_try=?8, disabled=?9");
    if (!st) return st.error();
    st->bind(1, account).bind(2, h.first_sync).bind(3, h.last_attempt).bind(4, h.last_success);
    st->bind(5, h.last_error).bind(6, h.failures).bind(7, h.auth_failures).bind(8, h.next_try);
    st->bind(9, h.disabled);
    return st->run();
}

Status State::forget(int64_t account) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    for (const char* sql : {"DELETE FROM accounts WHERE id=?", "DELETE FROM folders WHERE account=?",
                            "DELETE FROM fetched WHERE account=?", "DELETE FROM in_flight WHERE account=?"}) {
        auto st = db_.prepare(sql);
        if (!st) return st.error();
        st->bind(1, account);
        MAIL_TRY(st->run());
    }
    return tx.commit();
}

Status State::clear_disabled(int64_t account) {
    auto st = db_.prepare("UPDATE accounts SET disabled='', auth_failures=0, failures=0, next_try=0 "
                          "WHERE id=?");
    if (!st) return st.error();
    st->bind(1, account);
    return st->run();
}

Result<State::Folder> State::folder(int64_t account, const std::string& name) {
    auto st = db_.prepare("SELECT uidvalidity, last_uid FROM folders WHERE account=? AND name=?");
    if (!st) return st.error();
    st->bind(1, account).bind(2, name);
    auto row = st->step();
    if (!row) return row.error();
    Folder f;
    if (*row) f.uidvalidity = st->int64(0), f.last_uid = st->int64(1);
    return f;
}

Status State::set_folder(int64_t account, const std::string& name, const Folder& f) {
    auto st = db_.prepare("INSERT OR REPLACE INTO folders(account, name, uidvalidity, last_uid) "
                          "VALUES(?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, account).bind(2, name).bind(3, f.uidvalidity).bind(4, f.last_uid);
    return st->run();
}

Result<std::unordered_set<std::string>> State::keys(int64_t account, const std::string& folder) {
    auto st = db_.prepare("SELECT key FROM fetched WHERE account=? AND folder=?");
    if (!st) return st.error();
    st->bind(1, account).bind(2, folder);
    std::unordered_set<std::string> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out.insert(st->text(0));
    }
    return out;
}

Status State::delivered(int64_t account, const std::string& folder, const std::vector<std::string>& keys,
                        int64_t last_uid, int64_t bytes) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    auto ins = db_.prepare("INSERT OR IGNORE INTO fetched(account, folder, key) VALUES(?,?,?)");
    if (!ins) return ins.error();
    for (auto& key : keys) {
        ins->reset();
        ins->bind(1, account).bind(2, folder).bind(3, key);
        MAIL_TRY(ins->run());
    }
    if (last_uid > 0) {
        auto up = db_.prepare("UPDATE folders SET last_uid=max(last_uid, ?) WHERE account=? AND name=?");
        if (!up) return up.error();
        up->bind(1, last_uid).bind(2, account).bind(3, folder);
        MAIL_TRY(up->run());
    }
    auto acc = db_.prepare("INSERT INTO accounts(id, fetched, bytes) VALUES(?1, ?2, ?3) "
                           "ON CONFLICT(id) DO UPDATE SET fetched=fetched+?2, bytes=bytes+?3");
    if (!acc) return acc.error();
    acc->bind(1, account).bind(2, static_cast<int64_t>(keys.size())).bind(3, bytes);
    MAIL_TRY(acc->run());
    auto done = db_.prepare("DELETE FROM in_flight WHERE account=? AND folder=?");
    if (!done) return done.error();
    done->bind(1, account).bind(2, folder);
    MAIL_TRY(done->run());
    return tx.commit();
}

Status State::set_in_flight(int64_t account, const std::string& folder) {
    auto st = db_.prepare("INSERT OR IGNORE INTO in_flight(account, folder) VALUES(?,?)");
    if (!st) return st.error();
    st->bind(1, account).bind(2, folder);
    return st->run();
}

Result<bool> State::in_flight(int64_t account, const std::string& folder) {
    auto st = db_.prepare("SELECT 1 FROM in_flight WHERE account=? AND folder=?");
    if (!st) return st.error();
    st->bind(1, account).bind(2, folder);
    auto row = st->step();
    if (!row) return row.error();
    return *row;
}

Status State::prune(int64_t account, const std::string& folder,
                    const std::unordered_set<std::string>& keep) {
    auto have = keys(account, folder);
    if (!have) return have.error();
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    auto del = db_.prepare("DELETE FROM fetched WHERE account=? AND folder=? AND key=?");
    if (!del) return del.error();
    for (auto& k : *have) {
        if (keep.count(k)) continue;
        del->reset();
        del->bind(1, account).bind(2, folder).bind(3, k);
        MAIL_TRY(del->run());
    }
    return tx.commit();
}

} // namespace mail::fetch
