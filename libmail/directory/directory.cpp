#include "directory.hpp"

#include <algorithm>
#include <ctime>

#include "base/files.hpp"

namespace mail {

namespace {

// Migration i brings the schema from version i to i+1.
const char* const migrations[] = {
    R"(
CREATE TABLE domains(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL);
CREATE TABLE addresses(
  id INTEGER PRIMARY KEY,
  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  local TEXT NOT NULL COLLATE NOCASE,
  kind TEXT NOT NULL CHECK(kind IN ('mailbox','alias','group')),
  created INTEGER NOT NULL,
  UNIQUE(domain_id, local));
CREATE TABLE mailboxes(
  address_id INTEGER PRIMARY KEY REFERENCES addresses(id) ON DELETE CASCADE,
  password TEXT NOT NULL DEFAULT '',
  quota INTEGER NOT NULL DEFAULT 0,
  signature TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '');
CREATE TABLE targets(
  address_id INTEGER NOT NULL REFERENCES addresses(id) ON DELETE CASCADE,
  target TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY(address_id, target));
)",
    R"(
CREATE TABLE dkim_keys(
  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  selector TEXT NOT NULL COLLATE NOCASE,
  algorithm TEXT NOT NULL CHECK(algorithm IN ('rsa-sha256','ed25519-sha256')),
  public_key TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY(domain_id, selector));
)",
    R"(
CREATE TABLE signatures(
  address_id INTEGER PRIMARY KEY REFERENCES addresses(id) ON DELETE CASCADE,
  text TEXT NOT NULL, html TEXT NOT NULL);
CREATE TABLE disclaimers(
  domain_id INTEGER PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
  text TEXT NOT NULL, html TEXT NOT NULL);
CREATE TABLE autoreplies(
  address_id INTEGER PRIMARY KEY REFERENCES addresses(id) ON DELETE CASCADE,
  subject TEXT NOT NULL, body TEXT NOT NULL, html TEXT NOT NULL,
  start INTEGER NOT NULL, until INTEGER NOT NULL, interval INTEGER NOT NULL,
  extra TEXT NOT NULL);
)",
    R"(
CREATE TABLE fetch_accounts(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  address_id INTEGER NOT NULL REFERENCES addresses(id) ON DELETE CASCADE,
  protocol TEXT NOT NULL CHECK(protocol IN ('imap','pop3')),
  host TEXT NOT NULL, port INTEGER NOT NULL,
  tls TEXT NOT NULL CHECK(tls IN ('implicit','starttls','none')),
  verify INTEGER NOT NULL, ca_file TEXT NOT NULL,
  username TEXT NOT NULL, password TEXT NOT NULL,
  folders TEXT NOT NULL, into_folder TEXT NOT NULL,
  keep INTEGER NOT NULL, interval INTEGER NOT NULL,
  enabled INTEGER NOT NULL,
  created INTEGER NOT NULL, updated INTEGER NOT NULL);
)",
};
constexpr int schema_version = sizeof migrations / sizeof migrations[0];

AddressKind kind_from(const std::string& s) {
    return s == "alias" ? AddressKind::alias : s == "group" ? AddressKind::group
                                                            : AddressKind::mailbox;
}

Error no_such(const Address& a) {
    return make_error(Errc::nouser, "no such address: " + a.str());
}

} // namespace

const char* kind_name(AddressKind k) {
    switch (k) {
    case AddressKind::mailbox: return "mailbox";
    case AddressKind::alias: return "alias";
    case AddressKind::group: return "group";
    }
    return "?";
}

Result<Directory> Directory::open(const std::string& path, Db::Access access) {
    auto db = Db::open(path, Db::Sync::full, access);
    if (!db) {
        if (db.error().code == Errc::noinput)
            return make_error(Errc::config, "no directory at " + path + " (run mail-admin init)");
        return db.error();
    }
    Directory d(std::move(*db));
    if (access == Db::Access::read_only) {
        if (d.db_.user_version() != schema_version)
            return make_error(Errc::tempfail, "directory needs an upgrade (run mail-admin check)",
                              path + ": version " + std::to_string(d.db_.user_version()));
        return d;
    }
    MAIL_TRY(d.migrate());
    return d;
}

Status Directory::migrate() {
    int v = db_.user_version();
    if (v == schema_version) return {};
    if (v > schema_version)
        return make_error(Errc::tempfail, "directory from a newer facteur",
                          db_.path() + ": version " + std::to_string(v));
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    for (v = db_.user_version(); v < schema_version; v++) {
        MAIL_TRY(db_.exec(migrations[v]));
        MAIL_TRY(db_.exec("PRAGMA user_version=" + std::to_string(v + 1)));
    }
    return tx.commit();
}

Result<int64_t> Directory::domain_id(const std::string& name) {
    auto st = db_.prepare("SELECT id FROM domains WHERE name=?");
    if (!st) return st.error();
    st->bind(1, name);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::nouser, "no such domain: " + name);
    return st->int64(0);
}

Status Directory::add_domain(const std::string& name) {
    auto st = db_.prepare("INSERT INTO domains(name, created) VALUES(?,?)");
    if (!st) return st.error();
    st->bind(1, name).bind(2, static_cast<int64_t>(time(nullptr)));
    Status r = st->run();
    if (!r && r.error().code == Errc::cantcreat)
        return make_error(Errc::cantcreat, "domain already exists: " + name);
    return r;
}

namespace {
// Domains with their address counts; `name` empty: all of them.
constexpr const char* domain_query =
    "SELECT d.name, d.created,"
    " (SELECT count(*) FROM addresses a WHERE a.domain_id=d.id AND kind='mailbox'),"
    " (SELECT count(*) FROM addresses a WHERE a.domain_id=d.id AND kind='alias'),"
    " (SELECT count(*) FROM addresses a WHERE a.domain_id=d.id AND kind='group')"
    " FROM domains d WHERE ?1='' OR d.name=?1 ORDER BY d.name";

Result<std::vector<DomainInfo>> query_domains(Db& db, const std::string& name) {
    auto st = db.prepare(domain_query);
    if (!st) return st.error();
    st->bind(1, name);
    std::vector<DomainInfo> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out.push_back({st->text(0), st->int64(1), st->int64(2), st->int64(3), st->int64(4)});
    }
    return out;
}
} // namespace

Result<std::vector<DomainInfo>> Directory::domains() { return query_domains(db_, ""); }

Result<DomainInfo> Directory::domain(const std::string& name) {
    if (name.empty()) return make_error(Errc::nouser, "no such domain: " + name);
    auto one = query_domains(db_, name);
    if (!one) return one.error();
    if (one->empty()) return make_error(Errc::nouser, "no such domain: " + name);
    return one->front();
}

Result<bool> Directory::has_domain(const std::string& name) {
    auto id = domain_id(name);
    if (id) return true;
    if (id.error().code == Errc::nouser) return false;
    return id.error();
}

Status Directory::remove_domain(const std::string& name) {
    auto id = domain_id(name);
    if (!id) return id.error();
    auto st = db_.prepare("DELETE FROM domains WHERE id=?");
    if (!st) return st.error();
    st->bind(1, *id);
    return st->run();
}

Result<Entry> Directory::lookup(const Address& a) {
    if (fault_injected("lookup")) return make_error(Errc::tempfail, "directory unavailable", "lookup: fault injected");
    auto st = db_.prepare("SELECT a.id, a.local, a.kind, a.created,"
                          " COALESCE(m.password,''), COALESCE(m.quota,0)"
                          " FROM addresses a JOIN domains d ON d.id=a.domain_id"
                          " LEFT JOIN mailboxes m ON m.address_id=a.id"
                          " WHERE d.name=? AND a.local=?");
    if (!st) return st.error();
    st->bind(1, a.domain).bind(2, a.local);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return no_such(a);
    Entry e;
    e.id = st->int64(0);
    e.address = Address{st->text(1), a.domain};
    e.kind = kind_from(st->text(2));
    e.created = st->int64(3);
    e.password_hash = st->text(4);
    e.quota = static_cast<uint64_t>(st->int64(5));
    auto t = db_.prepare("SELECT target FROM targets WHERE address_id=? ORDER BY target");
    if (!t) return t.error();
    t->bind(1, e.id);
    for (;;) {
        auto r = t->step();
        if (!r) return r.error();
        if (!*r) break;
        e.targets.push_back(t->text(0));
    }
    return e;
}

Result<std::vector<Entry>> Directory::list(std::optional<AddressKind> kind,
                                           const std::string& domain) {
    auto st = db_.prepare("SELECT a.local, d.name FROM addresses a JOIN domains d"
                          " ON d.id=a.domain_id WHERE (?1='' OR a.kind=?1) AND (?2='' OR d.name=?2)"
                          " ORDER BY d.name, a.local");
    if (!st) return st.error();
    st->bind(1, kind ? kind_name(*kind) : "").bind(2, domain);
    std::vector<Entry> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        auto e = lookup(Address{st->text(0), st->text(1)});
        if (!e) return e.error();
        out.push_back(std::move(*e));
    }
    return out;
}

Result<int64_t> Directory::create_address(const Address& a, AddressKind kind) {
    auto did = domain_id(a.domain);
    if (!did) return did.error();
    auto existing = lookup(a);
    if (existing)
        return make_error(Errc::cantcreat, a.str() + " already exists as " +
                                               kind_name(existing->kind));
    auto st = db_.prepare("INSERT INTO addresses(domain_id, local, kind, created) VALUES(?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, *did).bind(2, a.local).bind(3, kind_name(kind));
    st->bind(4, static_cast<int64_t>(time(nullptr)));
    MAIL_TRY(st->run());
    return db_.last_insert_id();
}

Result<Entry> Directory::expect(const Address& a, AddressKind kind) {
    auto e = lookup(a);
    if (!e) return e.error();
    if (e->kind != kind)
        return make_error(Errc::data, a.str() + " is " + kind_name(e->kind) + ", not " +
                                          kind_name(kind));
    return e;
}

Status Directory::add_mailbox(const Address& a, const std::string& hash, uint64_t quota) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    auto id = create_address(a, AddressKind::mailbox);
    if (!id) return id.error();
    auto st = db_.prepare("INSERT INTO mailboxes(address_id, password, quota) VALUES(?,?,?)");
    if (!st) return st.error();
    st->bind(1, *id).bind(2, hash).bind(3, static_cast<int64_t>(quota));
    MAIL_TRY(st->run());
    return tx.commit();
}

Status Directory::set_password(const Address& a, const std::string& hash) {
    auto e = expect(a, AddressKind::mailbox);
    if (!e) return e.error();
    auto st = db_.prepare("UPDATE mailboxes SET password=? WHERE address_id=?");
    if (!st) return st.error();
    st->bind(1, hash).bind(2, e->id);
    return st->run();
}

Status Directory::set_quota(const Address& a, uint64_t quota) {
    auto e = expect(a, AddressKind::mailbox);
    if (!e) return e.error();
    auto st = db_.prepare("UPDATE mailboxes SET quota=? WHERE address_id=?");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(quota)).bind(2, e->id);
    return st->run();
}

Status Directory::add_targets(const Address& a, AddressKind kind,
                              const std::vector<std::string>& targets, bool create) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    int64_t id;
    auto e = lookup(a);
    if (e) {
        if (e->kind != kind)
            return make_error(Errc::cantcreat, a.str() + " already exists as " +
                                                   kind_name(e->kind));
        id = e->id;
    } else if (e.error().code == Errc::nouser && create) {
        auto created = create_address(a, kind);
        if (!created) return created.error();
        id = *created;
    } else {
        return e.error();
    }
    for (auto& t : targets) {
        auto st = db_.prepare("INSERT OR IGNORE INTO targets(address_id, target) VALUES(?,?)");
        if (!st) return st.error();
        st->bind(1, id).bind(2, t);
        MAIL_TRY(st->run());
    }
    return tx.commit();
}

Status Directory::remove_targets(const Address& a, AddressKind kind,
                                 const std::vector<std::string>& targets) {
    auto e = expect(a, kind);
    if (!e) return e.error();
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    for (auto& t : targets) {
        auto st = db_.prepare("DELETE FROM targets WHERE address_id=? AND target=?");
        if (!st) return st.error();
        st->bind(1, e->id).bind(2, t);
        MAIL_TRY(st->run());
        if (db_.changes() == 0)
            return make_error(Errc::nouser, t + " is not a target of " + a.str());
    }
    return tx.commit();
}

Status Directory::remove(const Address& a, AddressKind kind) {
    auto e = expect(a, kind);
    if (!e) return e.error();
    auto st = db_.prepare("DELETE FROM addresses WHERE id=?");
    if (!st) return st.error();
    st->bind(1, e->id);
    return st->run();
}

Status Directory::add_dkim_key(const DkimKeyInfo& k) {
    auto id = domain_id(k.domain);
    if (!id) return id.error();
    auto st = db_.prepare("INSERT INTO dkim_keys(domain_id, selector, algorithm, public_key, created) "
                          "VALUES(?,?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, *id).bind(2, k.selector).bind(3, k.algorithm).bind(4, k.public_key).bind(5, time(nullptr));
    Status r = st->run();
    if (!r && r.error().code == Errc::cantcreat)
        return make_error(Errc::cantcreat, "DKIM selector " + k.selector + " already exists for " + k.domain);
    return r;
}

Result<std::vector<DkimKeyInfo>> Directory::dkim_keys(const std::string& domain) {
    auto st = db_.prepare("SELECT d.name, k.selector, k.algorithm, k.public_key, k.created "
                          "FROM dkim_keys k JOIN domains d ON d.id=k.domain_id "
                          "WHERE ?1='' OR d.name=?1 ORDER BY d.name, k.selector");
    if (!st) return st.error();
    st->bind(1, domain);
    std::vector<DkimKeyInfo> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out.push_back(DkimKeyInfo{st->text(0), st->text(1), st->text(2), st->text(3), st->int64(4)});
    }
    return out;
}

Status Directory::remove_dkim_key(const std::string& domain, const std::string& selector) {
    auto id = domain_id(domain);
    if (!id) return id.error();
    auto st = db_.prepare("DELETE FROM dkim_keys WHERE domain_id=? AND selector=?");
    if (!st) return st.error();
    st->bind(1, *id).bind(2, selector);
    MAIL_TRY(st->run());
    if (db_.changes() == 0)
        return make_error(Errc::nouser, "no DKIM key " + selector + " for " + domain);
    return {};
}

namespace {

// One row keyed by an id: (text, html) pairs for signatures and disclaimers.
Result<std::optional<TextPair>> get_pair(Db& db, const char* sql, int64_t id) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    st->bind(1, id);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<TextPair>{};
    return std::optional<TextPair>(TextPair{st->text(0), st->text(1)});
}

Status run_with(Db& db, const char* sql, int64_t id, const std::vector<std::string>& values) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    st->bind(1, id);
    for (size_t i = 0; i < values.size(); i++) st->bind(static_cast<int>(i + 2), values[i]);
    return st->run();
}

} // namespace

Result<std::optional<TextPair>> Directory::signature(const Address& mailbox) {
    auto e = expect(mailbox, AddressKind::mailbox);
    if (!e) return e.error();
    return get_pair(db_, "SELECT text, html FROM signatures WHERE address_id=?", e->id);
}

Status Directory::set_signature(const Address& mailbox, const TextPair& s) {
    auto e = expect(mailbox, AddressKind::mailbox);
    if (!e) return e.error();
    return run_with(db_, "INSERT OR REPLACE INTO signatures(address_id, text, html) VALUES(?,?,?)", e->id,
                    {s.text, s.html});
}

Status Directory::remove_signature(const Address& mailbox) {
    auto e = expect(mailbox, AddressKind::mailbox);
    if (!e) return e.error();
    return run_with(db_, "DELETE FROM signatures WHERE address_id=?", e->id, {});
}

Result<std::optional<TextPair>> Directory::disclaimer(const std::string& domain) {
    auto id = domain_id(domain);
    if (!id) return id.error();
    return get_pair(db_, "SELECT text, html FROM disclaimers WHERE domain_id=?", *id);
}

Status Directory::set_disclaimer(const std::string& domain, const TextPair& s) {
    auto id = domain_id(domain);
    if (!id) return id.error();
    return run_with(db_, "INSERT OR REPLACE INTO disclaimers(domain_id, text, html) VALUES(?,?,?)", *id,
                    {s.text, s.html});
}

Status Directory::remove_disclaimer(const std::string& domain) {
    auto id = domain_id(domain);
    if (!id) return id.error();
    return run_with(db_, "DELETE FROM disclaimers WHERE domain_id=?", *id, {});
}

Result<std::optional<AutoreplySettings>> Directory::autoreply(const Address& mailbox) {
    auto e = expect(mailbox, AddressKind::mailbox);
    if (!e) return e.error();
    auto st = db_.prepare("SELECT subject, body, html, start, until, interval, extra FROM autoreplies "
                          "WHERE address_id=?");
    if (!st) return st.error();
    st->bind(1, e->id);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<AutoreplySettings>{};
    AutoreplySettings a;
    a.address = e->address.str();
    a.subject = st->text(0), a.body = st->text(1), a.html = st->text(2);
    a.start = st->int64(3), a.until = st->int64(4), a.interval = st->int64(5);
    std::string extra = st->text(6);
    for (size_t p = 0; p < extra.size();) {
        size_t nl = extra.find('\n', p);
        if (nl == std::string::npos) nl = extra.size();
        if (nl > p) a.extra.push_back(extra.substr(p, nl - p));
        p = nl + 1;
    }
    return std::optional<AutoreplySettings>(std::move(a));
}

Status Directory::set_autoreply(const Address& mailbox, const AutoreplySettings& a) {
    auto e = expect(mailbox, AddressKind::mailbox);
    if (!e) return e.error();
    std::string extra;
    for (auto& x : a.extra) extra += x + "\n";
    auto st = db_.prepare("INSERT OR REPLACE INTO autoreplies(address_id, subject, body, html, start, until,"
                          " interval, extra) VALUES(?,?,?,?,?,?,?,?)");
    if (!st) return st.error();
    st->bind(1, e->id).bind(2, a.subject).bind(3, a.body).bind(4, a.html).bind(5, a.start).bind(6, a.until);
    st->bind(7, a.interval).bind(8, extra);
    return st->run();
}

Status Directory::remove_autoreply(const Address& mailbox) {
    auto e = expect(mailbox, AddressKind::mailbox);
    if (!e) return e.error();
    return run_with(db_, "DELETE FROM autoreplies WHERE address_id=?", e->id, {});
}

namespace {

constexpr const char* fetch_columns =
    "f.id, a.local || '@' || d.name, f.protocol, f.host, f.port, f.tls, f.verify, f.ca_file, "
    "f.username, f.password, f.folders, f.into_folder, f.keep, f.interval, f.enabled, f.created, "
    "f.updated FROM fetch_accounts f JOIN addresses a ON a.id=f.address_id "
    "JOIN domains d ON d.id=a.domain_id";

FetchAccount fetch_row(const Stmt& st) {
    FetchAccount f;
    f.id = st.int64(0), f.address = st.text(1), f.protocol = st.text(2), f.host = st.text(3);
    f.port = static_cast<int>(st.int64(4)), f.tls = st.text(5), f.verify = st.int64(6) != 0;
    f.ca_file = st.text(7), f.user = st.text(8), f.sealed_password = st.text(9);
    std::string folders = st.text(10);
    for (size_t p = 0; p < folders.size();) {
        size_t nl = folders.find('\n', p);
        if (nl == std::string::npos) nl = folders.size();
        if (nl > p) f.folders.push_back(folders.substr(p, nl - p));
        p = nl + 1;
    }
    f.into = st.text(11), f.keep = st.int64(12) != 0, f.interval = st.int64(13);
    f.enabled = st.int64(14) != 0, f.created = st.int64(15), f.updated = st.int64(16);
    return f;
}

} // namespace

std::string FetchAccount::seal_context() const { return "fetch:" + std::to_string(id); }

Result<int64_t> Directory::add_fetch_account(const FetchAccount& f,
                                             const std::function<Result<std::string>(int64_t)>& seal) {
    auto addr = parse_address(f.address);
    if (!addr) return addr.error();
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    auto e = expect(*addr, AddressKind::mailbox);
    if (!e) return e.error();
    std::string folders;
    for (auto& x : f.folders) folders += x + "\n";
    auto st = db_.prepare("INSERT INTO fetch_accounts(address_id, protocol, host, port, tls, verify,"
                          " ca_file, username, password, folders, into_folder, keep, interval, enabled,"
                          " created, updated) VALUES(?,?,?,?,?,?,?,?,'',?,?,?,?,?,?,?)");
    if (!st) return st.error();
    int64_t now = time(nullptr);
    st->bind(1, e->id).bind(2, f.protocol).bind(3, f.host).bind(4, int64_t{f.port}).bind(5, f.tls);
    st->bind(6, int64_t{f.verify}).bind(7, f.ca_file).bind(8, f.user).bind(9, folders);
    st->bind(10, f.into).bind(11, int64_t{f.keep}).bind(12, f.interval).bind(13, int64_t{f.enabled});
    st->bind(14, now).bind(15, now);
    MAIL_TRY(st->run());
    int64_t id = db_.last_insert_id();
    auto sealed = seal(id);
    if (!sealed) return sealed.error();
    MAIL_TRY(run_with(db_, "UPDATE fetch_accounts SET password=?2 WHERE id=?1", id, {*sealed}));
    MAIL_TRY(tx.commit());
    return id;
}

Result<std::vector<FetchAccount>> Directory::fetch_accounts(const std::string& address) {
    auto st = db_.prepare(std::string("SELECT ") + fetch_columns +
                          " WHERE ?1='' OR (a.local || '@' || d.name) = ?1 COLLATE NOCASE ORDER BY f.id");
    if (!st) return st.error();
    st->bind(1, address);
    std::vector<FetchAccount> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out.push_back(fetch_row(*st));
    }
    return out;
}

Result<FetchAccount> Directory::fetch_account(int64_t id) {
    auto st = db_.prepare(std::string("SELECT ") + fetch_columns + " WHERE f.id=?");
    if (!st) return st.error();
    st->bind(1, id);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::nouser, "no fetch account " + std::to_string(id));
    return fetch_row(*st);
}

Status Directory::update_fetch_account(int64_t id, std::string_view column, std::string_view value) {
    static const char* const allowed[] = {"enabled", "password"};
    if (std::find(std::begin(allowed), std::end(allowed), column) == std::end(allowed))
        return make_error(Errc::software, "no such fetch account field: " + std::string(column));
    auto st = db_.prepare("UPDATE fetch_accounts SET " + std::string(column) +
                          "=?, updated=? WHERE id=?");
    if (!st) return st.error();
    st->bind(1, value).bind(2, static_cast<int64_t>(time(nullptr))).bind(3, id);
    MAIL_TRY(st->run());
    if (db_.changes() == 0) return make_error(Errc::nouser, "no fetch account " + std::to_string(id));
    return {};
}

Status Directory::remove_fetch_account(int64_t id) {
    MAIL_TRY(run_with(db_, "DELETE FROM fetch_accounts WHERE id=?", id, {}));
    if (db_.changes() == 0) return make_error(Errc::nouser, "no fetch account " + std::to_string(id));
    return {};
}

} // namespace mail
