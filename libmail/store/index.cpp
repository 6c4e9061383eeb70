#include "index.hpp"

#include <algorithm>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

#include "base/files.hpp"
#include "message/header.hpp"
#include "store/maildir.hpp"

namespace mail {

namespace {

constexpr size_t cache_read_limit = 256 * 1024; // header bytes read to fill the cache

// The time, or one past the last UIDVALIDITY given when that is later.
Result<int64_t> next_uidvalidity(Db& db) {
    auto st = db.prepare("UPDATE counters SET value=max(value+1, ?) WHERE name='uidvalidity' RETURNING value");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(time(nullptr)));
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::tempfail, "database error", db.path() + ": no uidvalidity counter");
    return st->int64(0);
}

int64_t mtime_ns(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// A directory's mtime read before listing it stands for that listing
// only if any later change must get a different mtime: the kernel stamps
// changes with its coarse clock (up to a tick behind), so the mtime must be
// older than the clock, read before the listing, by more than a tick (two,
// to be safe; the tick is the coarse clock's resolution, 4 ms at HZ=250);
// on a file system with whole-second times (no nanoseconds), by more than
// a second.
int64_t tick_margin_ns() {
    static const int64_t margin = [] {
        struct timespec res;
        if (clock_getres(CLOCK_REALTIME_COARSE, &res) != 0) return int64_t{20'000'000};
        return 2 * (static_cast<int64_t>(res.tv_sec) * 1000000000 + res.tv_nsec);
    }();
    return margin;
}
int64_t trusted_mtime(int64_t mtime, int64_t clock_before_listing) {
    bool whole_seconds = mtime % 1'000'000'000 == 0;
    int64_t margin = whole_seconds ? 1'000'000'000 + tick_margin_ns() : tick_margin_ns();
    return clock_before_listing - mtime > margin ? mtime : 0;
}

int64_t clock_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct DiskFile {
    std::string subdir, flags;
    int64_t mtime = 0;
    std::string name; // as on disk: a file in cur/ may lack the ":2," info
};

// The files of a folder by base name (hashed: a listing of every SELECT
// is looked up once per indexed message).
using DiskFiles = std::unordered_map<std::string, DiskFile>;

Status list_dir(const std::string& dir, const char* subdir, DiskFiles& out) {
    std::string path = dir + "/" + subdir;
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(path.c_str()), closedir);
    if (!d) return sys_error("opendir", path);
    bool cur = std::string_view(subdir) == "cur";
    while (auto* e = readdir(d.get())) {
        if (e->d_name[0] == '.') continue;
        auto n = maildir::split_name(e->d_name);
        DiskFile& f = out[std::move(n.base)];
        f = DiskFile{subdir, cur ? std::move(n.flags) : std::string(), 0, e->d_name};
    }
    return {};
}

std::string read_head(const std::string& path, int64_t& size, int64_t& mtime) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st;
    if (!fd || fstat(fd.get(), &st) != 0) return {};
    size = st.st_size;
    mtime = st.st_mtim.tv_sec;
    std::string buf(std::min<size_t>(cache_read_limit, static_cast<size_t>(st.st_size)), '\0');
    ssize_t n = pread(fd.get(), buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
}

Status insert_cache(Db& db, int64_t folder_id, int64_t uid, const CachedFields& f) {
    auto st_c = db.cached("INSERT OR REPLACE INTO cache VALUES(?,?,?,?,?,?,?)");
    if (!st_c) return st_c.error();
    Stmt* st = *st_c;
    st->bind(1, folder_id).bind(2, uid).bind(3, f.date).bind(4, f.from).bind(5, f.to);
    st->bind(6, f.subject).bind(7, f.message_id);
    return st->run();
}

// Insert one message row with the next UID and MODSEQ; returns its UID, or
// 0 when the base name is already indexed.
Result<int64_t> insert_message(Db& db, FolderState& f, const IndexedMessage& m) {
    auto st_c = db.cached("INSERT OR IGNORE INTO messages(folder_id,uid,base,subdir,flags,modseq,"
                        "internaldate,size,keywords) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!st_c) return st_c.error();
    Stmt* st = *st_c;
    st->bind(1, f.id).bind(2, f.uidnext).bind(3, m.base).bind(4, m.subdir).bind(5, m.flags);
    st->bind(6, f.highestmodseq + 1).bind(7, m.internaldate).bind(8, m.size).bind(9, m.keywords);
    MAIL_TRY(st->run());
    if (db.changes() == 0) return int64_t{0};
    f.highestmodseq++;
    return f.uidnext++;
}

Status save_folder(Db& db, const FolderState& f) {
    auto st = db.prepare("UPDATE folders SET uidnext=?, highestmodseq=? WHERE id=?");
    if (!st) return st.error();
    st->bind(1, f.uidnext).bind(2, f.highestmodseq).bind(3, f.id);
    return st->run();
}

// A delivered file: its row and its cache; 0 when the index had it.
Result<int64_t> insert_file(Db& db, FolderState& f, const NewFile& n) {
    IndexedMessage m;
    m.base = n.base;
    m.subdir = n.subdir.empty() ? (n.flags.empty() ? "new" : "cur") : n.subdir;
    m.flags = n.flags;
    m.keywords = n.keywords;
    m.size = n.size;
    m.internaldate = n.internaldate;
    auto uid = insert_message(db, f, m);
    if (!uid) return uid.error();
    if (*uid) MAIL_TRY(insert_cache(db, f.id, *uid, n.fields));
    return *uid;
}

// A message's rows: control data and every cache; the expunge log
// remembers it with `modseq`.
Status delete_row(Db& db, int64_t folder_id, int64_t uid, int64_t modseq) {
    auto log = db.cached("INSERT OR REPLACE INTO expunged VALUES(?,?,?)");
    if (!log) return log.error();
    MAIL_TRY((*log)->bind(1, folder_id).bind(2, uid).bind(3, modseq).run());
    for (const char* sql : {"DELETE FROM messages WHERE folder_id=?1 AND uid=?2",
                            "DELETE FROM cache WHERE folder_id=?1 AND uid=?2",
                            "DELETE FROM imap WHERE folder_id=?1 AND uid=?2",
                            "DELETE FROM fields WHERE folder_id=?1 AND uid=?2",
                            "DELETE FROM text WHERE rowid=(?1 << 32) | ?2"}) {
        auto st = db.prepare(sql);
        if (!st) return st.error();
        st->bind(1, folder_id).bind(2, uid);
        MAIL_TRY(st->run());
    }
    return {};
}

// Bump the folder's HIGHESTMODSEQ and return it (in the caller's transaction).
Result<int64_t> next_modseq(Db& db, int64_t folder_id) {
    auto st = db.prepare("UPDATE folders SET highestmodseq=highestmodseq+1 WHERE id=? RETURNING highestmodseq");
    if (!st) return st.error();
    st->bind(1, folder_id);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::tempfail, "database error", "folder row vanished");
    int64_t v = st->int64(0);
    MAIL_TRY(st->run()); // finish the statement
    return v;
}

} // namespace

CachedFields cache_fields(const Header& h) {
    CachedFields f;
    f.date = h.get("Date").value_or("");
    f.from = h.get("From").value_or("");
    f.to = h.get("To").value_or("");
    f.subject = h.get("Subject").value_or("");
    f.message_id = h.get("Message-ID").value_or("");
    return f;
}

CachedFields cache_fields(std::string_view message) {
    auto h = parse_header(message.substr(0, std::min(message.size(), cache_read_limit)),
                          cache_read_limit);
    return h ? cache_fields(*h) : CachedFields{};
}

std::string IndexedMessage::filename() const {
    return subdir == "cur" ? maildir::join_name({base, flags}) : base;
}

Result<MailboxIndex> MailboxIndex::open(const std::string& mailbox_root) {
    auto db = Db::open(mailbox_root + "/index.sqlite", Db::Sync::full, Db::Access::create);
    if (!db) return db.error();
    // Sorts and FTS merges in memory, never in /var/tmp: a confined
    // session (base/confine.hpp) reaches only its mailbox.
    MAIL_TRY(db->exec("PRAGMA temp_store=MEMORY"));
    MailboxIndex idx(std::move(*db), mailbox_root);
    MAIL_TRY(idx.migrate());
    return idx;
}


Result<FolderState> MailboxIndex::folder(std::string_view name) {
    std::string canon = maildir::is_inbox(name) ? "INBOX" : std::string(name);
    for (int pass = 0; pass < 2; pass++) {
        auto st = db_.prepare(
            "SELECT id, uidvalidity, uidnext, highestmodseq FROM folders WHERE name=?");
        if (!st) return st.error();
        st->bind(1, canon);
        auto row = st->step();
        if (!row) return row.error();
        if (*row)
            return FolderState{st->int64(0), canon, st->int64(1), st->int64(2), st->int64(3)};
        auto uidvalidity = next_uidvalidity(db_);
        if (!uidvalidity) return uidvalidity.error();
        auto ins = db_.prepare(
            "INSERT OR IGNORE INTO folders(name, uidvalidity, highestmodseq) VALUES(?,?,1)");
        if (!ins) return ins.error();
        ins->bind(1, canon).bind(2, *uidvalidity);
        MAIL_TRY(ins->run());
        if (db_.changes() > 0) { // a reused id must not inherit an old expunge log
            auto clean = db_.prepare("DELETE FROM expunged WHERE folder_id=?");
            if (!clean) return clean.error();
            MAIL_TRY(clean->bind(1, db_.last_insert_id()).run());
        }
    }
    return make_error(Errc::tempfail, "database error", "folder row vanished: " + canon);
}

Result<int64_t> MailboxIndex::add_delivered(std::string_view folder_name, const std::string& base,
                                            int64_t size, int64_t internaldate,
                                            const CachedFields& fields, std::string_view flags) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    auto f = folder(folder_name);
    if (!f) return f.error();
    auto uid = insert_file(db_, *f, NewFile{base, size, internaldate, fields, std::string(flags), {}, {}});
    if (!uid) return uid.error();
    if (*uid) MAIL_TRY(save_folder(db_, *f));
    MAIL_TRY(tx.commit());
    return *uid;
}

Status MailboxIndex::add_delivered(std::string_view folder_name, const std::vector<NewFile>& files,
                                   std::vector<int64_t>* uids) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    auto f = folder(folder_name);
    if (!f) return f.error();
    for (auto& n : files) {
        auto uid = insert_file(db_, *f, n);
        if (!uid) return uid.error();
        if (uids) uids->push_back(*uid);
    }
    MAIL_TRY(save_folder(db_, *f));
    return tx.commit();
}

Result<std::vector<IndexedMessage>> MailboxIndex::messages(std::string_view folder_name) {
    auto f = folder(folder_name);
    if (!f) return f.error();
    auto st = db_.prepare("SELECT uid, base, subdir, flags, modseq, internaldate, size, keywords "
                          "FROM messages WHERE folder_id=? ORDER BY uid");
    if (!st) return st.error();
    st->bind(1, f->id);
    std::vector<IndexedMessage> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out.push_back({st->int64(0), st->text(1), st->text(2), st->text(3), st->int64(4),
                       st->int64(5), st->int64(6), st->text(7)});
    }
    return out;
}

Result<int64_t> MailboxIndex::total_messages() {
    auto st = db_.prepare("SELECT count(*) FROM messages");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return st->int64(0);
}

Result<int64_t> MailboxIndex::total_size() {
    auto st = db_.prepare("SELECT COALESCE(SUM(size),0) FROM messages");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return st->int64(0);
}

namespace {

struct FolderMtimes {
    int64_t new_mtime = 0, cur_mtime = 0;
};

Result<FolderMtimes> stat_folder(const std::string& dir) {
    struct stat sn, sc;
    if (stat((dir + "/new").c_str(), &sn) != 0) return sys_error("stat", dir + "/new");
    if (stat((dir + "/cur").c_str(), &sc) != 0) return sys_error("stat", dir + "/cur");
    return FolderMtimes{mtime_ns(sn), mtime_ns(sc)};
}

Result<DiskFiles> list_files(const std::string& dir) {
    DiskFiles files;
    files.reserve(1024);
    MAIL_TRY(list_dir(dir, "cur", files));
    MAIL_TRY(list_dir(dir, "new", files));
    return files;
}

} // namespace

Result<ScanReport> MailboxIndex::scan(std::string_view folder_name, bool force, bool dry_run, int max_age,
                                      const std::vector<IndexedMessage>* rows) {
    std::string dir = maildir::folder_path(root_, folder_name);
    auto times = stat_folder(dir);
    if (!times) return times.error();
    auto f = folder(folder_name);
    if (!f) return f.error();
    if (!force) {
        auto st = db_.prepare("SELECT new_mtime, cur_mtime, listed_at FROM folders WHERE id=?");
        if (!st) return st.error();
        st->bind(1, f->id);
        auto row = st->step();
        if (!row) return row.error();
        if (*row && st->int64(0) == times->new_mtime && st->int64(1) == times->cur_mtime &&
            st->int64(0) != 0)
            return ScanReport{0, 0, 0, true, true};
        if (*row && max_age > 0 && time(nullptr) - st->int64(2) < max_age) return ScanReport{0, 0, 0, true, true};
    }
    int64_t clock_before_listing = clock_ns();
    auto files = list_files(dir);
    if (!files) return files.error();
    auto remember_mtimes = [&](int64_t folder_id) {
        auto up = db_.prepare("UPDATE folders SET new_mtime=?, cur_mtime=?, listed_at=? WHERE id=?");
        if (!up) return Status(up.error());
        up->bind(1, trusted_mtime(times->new_mtime, clock_before_listing))
            .bind(2, trusted_mtime(times->cur_mtime, clock_before_listing))
            .bind(3, clock_before_listing / 1000000000)
            .bind(4, folder_id);
        return up->run();
    };

    // Most often the index already says what the files say (every facteur
    // program records its own changes): then only the mtimes are written,
    // without a sync (losing them to a power loss costs one more listing).
    if (!dry_run) {
        auto matches = [&](const std::string& base, const std::string& subdir, const std::string& flags) {
            auto it = files->find(base);
            return it != files->end() && it->second.subdir == subdir && it->second.flags == flags;
        };
        size_t count = 0;
        bool same = true;
        if (rows) {
            count = rows->size();
            for (size_t i = 0; i < rows->size() && same; i++)
                same = matches((*rows)[i].base, (*rows)[i].subdir, (*rows)[i].flags);
        } else {
            auto st = db_.prepare("SELECT base, subdir, flags FROM messages WHERE folder_id=?");
            if (!st) return st.error();
            st->bind(1, f->id);
            for (;;) {
                auto row = st->step();
                if (!row) return row.error();
                if (!*row) break;
                count++;
                same = matches(st->text(0), st->text(1), st->text(2));
                if (!same) break;
            }
        }
        if (same && count == files->size()) {
            Transaction tx(db_);
            MAIL_TRY(tx.begin_unsynced());
            MAIL_TRY(remember_mtimes(f->id));
            MAIL_TRY(tx.commit());
            ScanReport same_report;
            same_report.same = true;
            return same_report;
        }
    }

    // A large scan (a mailbox seen for the first time) writes many pages
    // in one transaction: a cache large enough to hold them spares SQLite
    // spilling the same pages to the WAL again and again.
    struct CacheSize {
        Db& db;
        bool big;
        ~CacheSize() {
            if (big) (void)db.exec("PRAGMA cache_size=-2000; PRAGMA shrink_memory");
        }
    } cache_size{db_, files->size() > 2000};
    if (cache_size.big) MAIL_TRY(db_.exec("PRAGMA cache_size=-65536"));
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    f = folder(folder_name); // re-read under the write lock
    if (!f) return f.error();
    auto indexed = messages(folder_name);
    if (!indexed) return indexed.error();
    ScanReport rep;
    std::map<std::string, const IndexedMessage*> known;
    for (auto& m : *indexed) known[m.base] = &m;

    // A file another tool moved from new/ to cur/ while we listed may be in
    // neither listing: look again before dropping anything.
    bool missing = false;
    for (auto& m : *indexed) missing = missing || !files->count(m.base);
    if (missing) {
        auto again = list_files(dir);
        if (!again) return again.error();
        files->merge(*again);
    }

    for (auto& m : *indexed) {
        auto it = files->find(m.base);
        if (it == files->end()) {
            MAIL_TRY(delete_row(db_, f->id, m.uid, ++f->highestmodseq));
            rep.removed++;
        } else if (it->second.subdir != m.subdir || it->second.flags != m.flags) {
            auto up = db_.prepare(
                "UPDATE messages SET subdir=?, flags=?, modseq=? WHERE folder_id=? AND uid=?");
            if (!up) return up.error();
            up->bind(1, it->second.subdir).bind(2, it->second.flags).bind(3, ++f->highestmodseq);
            up->bind(4, f->id).bind(5, m.uid);
            MAIL_TRY(up->run());
            rep.changed++;
        }
    }
    // New files get UIDs in name order, which is delivery-time order for
    // the names we and most tools generate.
    std::vector<const std::pair<const std::string, DiskFile>*> fresh;
    for (auto& entry : *files)
        if (!known.count(entry.first)) fresh.push_back(&entry);
    std::sort(fresh.begin(), fresh.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (auto* entry : fresh) {
        const std::string& base = entry->first;
        const DiskFile& file = entry->second;
        IndexedMessage m;
        m.base = base;
        m.subdir = file.subdir;
        m.flags = file.flags;
        std::string head = read_head(dir + "/" + file.subdir + "/" + file.name, m.size,
                                     m.internaldate);
        if (m.internaldate == 0) continue; // vanished meanwhile
        auto uid = insert_message(db_, *f, m);
        if (!uid) return uid.error();
        if (*uid) {
            MAIL_TRY(insert_cache(db_, f->id, *uid, cache_fields(head)));
            if (hook_ && static_cast<int64_t>(head.size()) == m.size) MAIL_TRY(hook_(f->id, *uid, head));
            rep.added++;
        }
    }
    MAIL_TRY(save_folder(db_, *f));
    // Remember the mtimes only when they are old enough to be trusted.
    MAIL_TRY(remember_mtimes(f->id));
    if (!dry_run) MAIL_TRY(tx.commit()); // else rolled back by ~Transaction
    return rep;
}

Result<int64_t> MailboxIndex::set_flags(int64_t folder_id, int64_t uid, std::string_view subdir,
                                     std::string_view flags, std::string_view keywords) {
    // Inside the caller's transaction when it has one (a batch).
    std::optional<Transaction> tx;
    if (!db_.in_transaction()) {
        tx.emplace(db_);
        MAIL_TRY(tx->begin_unsynced());
    }
    auto modseq = next_modseq(db_, folder_id);
    if (!modseq) return modseq.error();
    auto st = db_.prepare("UPDATE messages SET subdir=?, flags=?, keywords=?, modseq=? "
                          "WHERE folder_id=? AND uid=?");
    if (!st) return st.error();
    st->bind(1, subdir).bind(2, flags).bind(3, keywords).bind(4, *modseq).bind(5, folder_id).bind(6, uid);
    MAIL_TRY(st->run());
    if (db_.changes() == 0) return int64_t{0}; // rolled back (or left to the caller's)
    if (tx) MAIL_TRY(commit_changes(*tx, folder_id));
    return *modseq;
}

Status MailboxIndex::remove(int64_t folder_id, const std::vector<int64_t>& uids) {
    if (uids.empty()) return {};
    // Inside the caller's transaction when it has one (a batch).
    std::optional<Transaction> tx;
    if (!db_.in_transaction()) {
        tx.emplace(db_);
        MAIL_TRY(tx->begin_unsynced());
    }
    auto modseq = next_modseq(db_, folder_id);
    if (!modseq) return modseq.error();
    for (int64_t uid : uids) MAIL_TRY(delete_row(db_, folder_id, uid, *modseq));
    return tx ? commit_changes(*tx, folder_id) : Status{};
}

Status MailboxIndex::commit_changes(Transaction& tx, int64_t folder_id) {
    auto st = db_.prepare("UPDATE folders SET new_mtime=0, cur_mtime=0 WHERE id=?");
    if (!st) return st.error();
    MAIL_TRY(st->bind(1, folder_id).run());
    return tx.commit();
}

Result<std::optional<FolderState>> MailboxIndex::find_folder(std::string_view name) {
    std::string canon = maildir::is_inbox(name) ? "INBOX" : std::string(name);
    auto st = db_.prepare("SELECT id, uidvalidity, uidnext, highestmodseq FROM folders WHERE name=?");
    if (!st) return st.error();
    st->bind(1, canon);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<FolderState>();
    return std::optional<FolderState>(
        FolderState{st->int64(0), canon, st->int64(1), st->int64(2), st->int64(3)});
}

Status MailboxIndex::rename_folder(std::string_view from, std::string_view to) {
    // Children first: "A/B" -> "C/B"; a row already named like the target
    // (a subscription left behind) gives way.
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    std::string f(from), t(to);
    for (const char* sql : {"DELETE FROM folders WHERE name=?2 OR substr(name,1,length(?2)+1)=?2||'/'",
                            "UPDATE folders SET name=?2||substr(name,length(?1)+1) "
                            "WHERE name=?1 OR substr(name,1,length(?1)+1)=?1||'/'",
                            "DELETE FROM subscriptions WHERE name=?2 OR substr(name,1,length(?2)+1)=?2||'/'",
                            "UPDATE subscriptions SET name=?2||substr(name,length(?1)+1) "
                            "WHERE name=?1 OR substr(name,1,length(?1)+1)=?1||'/'",
                            "DELETE FROM metadata WHERE folder=?2 OR substr(folder,1,length(?2)+1)=?2||'/'",
                            "UPDATE metadata SET folder=?2||substr(folder,length(?1)+1) "
                            "WHERE folder=?1 OR substr(folder,1,length(?1)+1)=?1||'/'"}) {
        auto st = db_.prepare(sql);
        if (!st) return st.error();
        st->bind(1, f).bind(2, t);
        MAIL_TRY(st->run());
    }
    return tx.commit();
}

Status MailboxIndex::drop_folder(std::string_view name) {
    auto meta = db_.prepare("DELETE FROM metadata WHERE folder=?"); // also of a folder never scanned
    if (!meta) return meta.error();
    MAIL_TRY(meta->bind(1, maildir::is_inbox(name) ? std::string("INBOX") : std::string(name)).run());
    auto f = find_folder(name);
    if (!f) return f.error();
    if (!*f) return {};
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    for (const char* sql : {"DELETE FROM text WHERE rowid >= (?1 << 32) AND rowid < ((?1 + 1) << 32)",
                            "DELETE FROM imap WHERE folder_id=?1", "DELETE FROM cache WHERE folder_id=?1",
                            "DELETE FROM fields WHERE folder_id=?1", "DELETE FROM expunged WHERE folder_id=?1",
                            "DELETE FROM messages WHERE folder_id=?1", "DELETE FROM folders WHERE id=?1"}) {
        auto st = db_.prepare(sql);
        if (!st) return st.error();
        MAIL_TRY(st->bind(1, (*f)->id).run());
    }
    return tx.commit();
}

Result<std::optional<CachedFields>> MailboxIndex::cached_fields(int64_t folder_id, int64_t uid) {
    auto st = db_.cached("SELECT date, from_, to_, subject, message_id FROM cache WHERE folder_id=? AND uid=?");
    if (!st) return st.error();
    (*st)->bind(1, folder_id).bind(2, uid);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return std::optional<CachedFields>();
    Stmt& r = **st;
    CachedFields f{r.text(0), r.text(1), r.text(2), r.text(3), r.text(4)};
    r.reset();
    return std::optional<CachedFields>(std::move(f));
}

Result<std::vector<int64_t>> MailboxIndex::expunged_since(int64_t folder_id, int64_t modseq) {
    auto st = db_.prepare("SELECT uid FROM expunged WHERE folder_id=? AND modseq>? ORDER BY uid");
    if (!st) return st.error();
    st->bind(1, folder_id).bind(2, modseq);
    std::vector<int64_t> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out.push_back(st->int64(0));
    }
}

} // namespace mail
