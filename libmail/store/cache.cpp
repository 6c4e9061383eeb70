// The parts of index.sqlite that readers keep per session or rebuild at
// will: \Recent marks, the IMAP cache (table imap), the search text (FTS5
// table text and table fields) and the queries STATUS, SORT and SEARCH
// make. The schema and its versions are in index.cpp; no SQL is written
// outside the store.
#include "index.hpp"

#include <algorithm>

namespace mail {

namespace {

// The rowid of a message's row in the FTS5 table: folder_id << 32 | uid.
int64_t text_rowid(int64_t folder_id, int64_t uid) { return (folder_id << 32) | uid; }
constexpr int64_t uid_mask = 0xffffffffLL;

const char* const field_columns[search_field_count] = {"from_", "to_", "cc", "bcc", "subject"};

// An FTS5 query for the rows whose `column` ("" any) has every trigram of
// `needle` (detail=column has no positions: a superset of the rows that
// contain it, which the caller verifies).
std::string trigram_query(std::string_view column, std::string_view needle) {
    std::vector<size_t> starts; // byte offsets of the characters
    for (size_t i = 0; i < needle.size(); i++)
        if ((needle[i] & 0xc0) != 0x80) starts.push_back(i);
    starts.push_back(needle.size());
    std::string query;
    for (size_t i = 0; i + 3 < starts.size(); i++) {
        std::string quoted = "\"";
        for (char c : needle.substr(starts[i], starts[i + 3] - starts[i])) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        quoted += "\"";
        query += (query.empty() ? "" : " AND ") + (column.empty() ? quoted : std::string(column) + ":" + quoted);
    }
    return query;
}

size_t char_count(std::string_view s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

// Each row's first column as a UID (rowids of table text are masked).
Result<std::set<int64_t>> uid_column(Stmt& st, bool rowid) {
    std::set<int64_t> out;
    for (;;) {
        auto row = st.step();
        if (!row) return row.error();
        if (!*row) return out;
        out.insert(rowid ? st.int64(0) & uid_mask : st.int64(0));
    }
}

IndexedMessage message_row(const Stmt& st) {
    return {st.int64(0), st.text(1), st.text(2), st.text(3), st.int64(4), st.int64(5), st.int64(6), st.text(7)};
}
// Every row of a statement over message_columns.
Result<std::vector<IndexedMessage>> message_rows(Stmt& st) {
    std::vector<IndexedMessage> out;
    for (;;) {
        auto row = st.step();
        if (!row) return row.error();
        if (!*row) return out;
        out.push_back(message_row(st));
    }
}
constexpr const char* message_columns = "uid, base, subdir, flags, modseq, internaldate, size, keywords";

} // namespace

Result<std::pair<int64_t, int64_t>> MailboxIndex::take_recent(int64_t folder_id) {
    // Unsynced: a power loss may at worst show a message \Recent once more.
    Transaction tx(db_);
    MAIL_TRY(tx.begin_unsynced());
    auto st = db_.prepare("SELECT recent_uid, uidnext FROM folders WHERE id=?");
    if (!st) return st.error();
    st->bind(1, folder_id);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::pair<int64_t, int64_t>{0, 0};
    std::pair<int64_t, int64_t> claimed{st->int64(0), st->int64(1)};
    auto up = db_.prepare("UPDATE folders SET recent_uid=uidnext WHERE id=?");
    if (!up) return up.error();
    MAIL_TRY(up->bind(1, folder_id).run());
    MAIL_TRY(tx.commit());
    return claimed;
}

Result<int64_t> MailboxIndex::peek_recent(int64_t folder_id) {
    auto st = db_.prepare("SELECT recent_uid FROM folders WHERE id=?");
    if (!st) return st.error();
    st->bind(1, folder_id);
    auto row = st->step();
    if (!row) return row.error();
    return *row ? st->int64(0) : INT64_MAX;
}

Result<std::vector<IndexedMessage>> MailboxIndex::changed_since(int64_t folder_id, int64_t modseq) {
    auto st = db_.prepare(std::string("SELECT ") + message_columns +
                          " FROM messages WHERE folder_id=? AND modseq>? ORDER BY uid");
    if (!st) return st.error();
    st->bind(1, folder_id).bind(2, modseq);
    return message_rows(*st);
}

Result<std::optional<IndexedMessage>> MailboxIndex::message(int64_t folder_id, int64_t uid) {
    auto st = db_.cached(std::string("SELECT ") + message_columns + " FROM messages WHERE folder_id=? AND uid=?");
    if (!st) return st.error();
    (*st)->bind(1, folder_id).bind(2, uid);
    auto row = (*st)->step();
    if (!row) return row.error();
    std::optional<IndexedMessage> out;
    if (*row) out = message_row(**st);
    (*st)->reset();
    return out;
}

Result<FolderCounts> MailboxIndex::counts(int64_t folder_id, bool with_size) {
    // The size needs the IMAP cache's row of every message: only when asked.
    // instr(), not LIKE: flags are case-sensitive Maildir letters, and
    // instr() is the cheaper test of the two.
    std::string sql = "SELECT count(*), coalesce(sum(instr(flags, 'S') = 0),0), "
                      "coalesce(sum(m.uid >= (SELECT recent_uid FROM folders WHERE id=?1)),0), "
                      "coalesce(sum(instr(flags, 'T') > 0),0), ";
    sql += with_size ? "coalesce(sum(coalesce(i.size, 2 * m.size)),0) FROM messages m LEFT JOIN imap i "
                       "ON i.folder_id=m.folder_id AND i.uid=m.uid WHERE m.folder_id=?1"
                     : "0 FROM messages m WHERE m.folder_id=?1";
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    st->bind(1, folder_id);
    if (auto r = st->step(); !r) return r.error();
    return FolderCounts{st->int64(0), st->int64(1), st->int64(2), st->int64(3), st->int64(4)};
}

Result<std::map<int64_t, CacheRow>> MailboxIndex::cache_rows(int64_t folder_id, int64_t from, int64_t to) {
    auto st = db_.prepare("SELECT uid, size, envelope, body, bodystructure FROM imap "
                          "WHERE folder_id=? AND uid BETWEEN ? AND ?");
    if (!st) return st.error();
    st->bind(1, folder_id).bind(2, from).bind(3, to);
    std::map<int64_t, CacheRow> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out[st->int64(0)] = CacheRow{static_cast<uint64_t>(st->int64(1)), st->text(2), st->text(3), st->text(4)};
    }
}

Status MailboxIndex::put_cache_row(int64_t folder_id, int64_t uid, const CacheRow& r) {
    auto ins_c = db_.cached("INSERT OR REPLACE INTO imap VALUES(?,?,?,?,?,?)");
    if (!ins_c) return ins_c.error();
    Stmt* ins = *ins_c;
    ins->bind(1, folder_id).bind(2, uid).bind(3, static_cast<int64_t>(r.size));
    ins->bind(4, r.envelope).bind(5, r.body).bind(6, r.bodystructure);
    return ins->run();
}

Result<std::vector<IndexedMessage>> MailboxIndex::uncached(int64_t folder_id) {
    auto st = db_.prepare("SELECT m.uid, m.base, m.subdir, m.flags, m.modseq, m.internaldate, m.size, m.keywords "
                          "FROM messages m LEFT JOIN imap i ON i.folder_id=m.folder_id AND i.uid=m.uid "
                          "WHERE m.folder_id=? AND i.uid IS NULL");
    if (!st) return st.error();
    st->bind(1, folder_id);
    return message_rows(*st);
}

Result<std::map<int64_t, std::string>> MailboxIndex::cached_dates(int64_t folder_id) {
    auto st = db_.prepare("SELECT uid, date FROM cache WHERE folder_id=?");
    if (!st) return st.error();
    st->bind(1, folder_id);
    std::map<int64_t, std::string> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out[st->int64(0)] = st->text(1);
    }
}

Result<int64_t> MailboxIndex::text_count(int64_t folder_id) {
    auto count = db_.prepare("SELECT count(*) FROM fields WHERE folder_id=?");
    if (!count) return count.error();
    count->bind(1, folder_id);
    if (auto r = count->step(); !r) return r.error();
    return count->int64(0);
}

Result<std::set<int64_t>> MailboxIndex::text_uids(int64_t folder_id) {
    auto st = db_.prepare("SELECT rowid FROM text WHERE rowid BETWEEN ? AND ?");
    if (!st) return st.error();
    st->bind(1, text_rowid(folder_id, 0)).bind(2, text_rowid(folder_id, uid_mask));
    return uid_column(*st, true);
}

Status MailboxIndex::put_text(int64_t folder_id, const std::vector<TextRow>& rows) {
    constexpr size_t batch = 500; // commit in batches: other writers get their turn
    for (size_t start = 0; start < rows.size(); start += batch) {
        Transaction tx(db_); // a cache: rebuilt if a power loss takes it
        MAIL_TRY(tx.begin_unsynced());
        for (size_t i = start; i < std::min(rows.size(), start + batch); i++) {
            const TextRow& t = rows[i];
            auto ins_c = db_.cached("INSERT INTO text(rowid, hdr, body, from_, to_, cc, bcc, subject) "
                                    "VALUES(?,?,?,?,?,?,?,?)");
            if (!ins_c) return ins_c.error();
            Stmt* ins = *ins_c;
            ins->bind(1, text_rowid(folder_id, t.uid)).bind(2, t.header).bind(3, t.body);
            for (int k = 0; k < 5; k++) ins->bind(4 + k, t.fields[k].value_or(""));
            MAIL_TRY(ins->run());
            auto fi_c = db_.cached("INSERT OR REPLACE INTO fields VALUES(?,?,?,?,?,?,?)");
            if (!fi_c) return fi_c.error();
            Stmt* fi = *fi_c;
            fi->bind(1, folder_id).bind(2, t.uid);
            for (int k = 0; k < 5; k++) {
                if (t.fields[k]) fi->bind(3 + k, *t.fields[k]);
                else fi->bind_null(3 + k);
            }
            MAIL_TRY(fi->run());
        }
        MAIL_TRY(tx.commit());
    }
    return {};
}

Result<std::set<int64_t>> MailboxIndex::field_search(int64_t folder_id, SearchField field, std::string_view needle) {
    std::string col = field_columns[static_cast<size_t>(field)];
    if (char_count(needle) < 3) {
        auto st = db_.prepare("SELECT uid FROM fields WHERE folder_id=? AND " + col + " IS NOT NULL AND instr(" +
                              col + ", ?) > 0");
        if (!st) return st.error();
        st->bind(1, folder_id).bind(2, needle);
        return uid_column(*st, false);
    }
    // Candidates by trigrams, each verified on its column.
    auto st = db_.prepare("SELECT rowid FROM text WHERE text MATCH ? AND rowid BETWEEN ? AND ?");
    if (!st) return st.error();
    st->bind(1, trigram_query(col, needle)).bind(2, text_rowid(folder_id, 0)).bind(3, text_rowid(folder_id, uid_mask));
    auto candidates = uid_column(*st, true);
    if (!candidates) return candidates.error();
    auto check = db_.prepare("SELECT 1 FROM fields WHERE folder_id=? AND uid=? AND instr(" + col + ", ?) > 0");
    if (!check) return check.error();
    std::set<int64_t> out;
    for (int64_t uid : *candidates) {
        check->reset();
        check->bind(1, folder_id).bind(2, uid).bind(3, needle);
        auto hit = check->step();
        if (!hit) return hit.error();
        if (*hit) out.insert(uid);
    }
    return out;
}

Status MailboxIndex::text_rows(int64_t folder_id, TextColumn column, std::string_view needle,
                               const std::function<void(int64_t uid, std::string_view hdr, std::string_view body)>& row) {
    bool trigrams = char_count(needle) >= 3;
    auto st = db_.prepare(trigrams ? "SELECT rowid, hdr, body FROM text WHERE text MATCH ?3 AND rowid BETWEEN ?1 AND ?2"
                                   : "SELECT rowid, hdr, body FROM text WHERE rowid BETWEEN ?1 AND ?2");
    if (!st) return st.error();
    st->bind(1, text_rowid(folder_id, 0)).bind(2, text_rowid(folder_id, uid_mask));
    if (trigrams)
        st->bind(3, trigram_query(column == TextColumn::header ? "hdr" : column == TextColumn::body ? "body" : "", needle));
    for (;;) {
        auto r = st->step();
        if (!r) return r.error();
        if (!*r) return {};
        row(st->int64(0) & uid_mask, st->text(1), st->text(2));
    }
}

} // namespace mail
