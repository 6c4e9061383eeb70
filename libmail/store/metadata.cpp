// What the user attaches to folders, apart from the messages: the
// subscriptions, the special-use attributes, and the METADATA annotations
// (RFC 5464) of the folders and of the server as the user sees it; all in
// index.sqlite.
#include "index.hpp"

#include "store/maildir.hpp"

namespace mail {

namespace {

std::string canonical(std::string_view folder) {
    return maildir::is_inbox(folder) ? std::string("INBOX") : std::string(folder);
}

} // namespace

Status MailboxIndex::subscribe(std::string_view name, bool on) {
    std::string canon = maildir::is_inbox(name) ? "INBOX" : std::string(name);
    auto st = db_.prepare("INSERT OR REPLACE INTO subscriptions(name, subscribed) VALUES(?,?)");
    if (!st) return st.error();
    return st->bind(1, canon).bind(2, on ? 1 : 0).run();
}

Status MailboxIndex::keep_subscription(std::string_view name) {
    auto st = db_.prepare("INSERT OR IGNORE INTO subscriptions(name, subscribed) VALUES(?,1)");
    if (!st) return st.error();
    return st->bind(1, name).run();
}

Status MailboxIndex::set_special_use(std::string_view name, std::string_view use) {
    auto f = folder(name);
    if (!f) return f.error();
    auto st = db_.prepare("UPDATE folders SET special_use=? WHERE id=?");
    if (!st) return st.error();
    return st->bind(1, use).bind(2, f->id).run();
}

Result<std::map<std::string, std::string>> MailboxIndex::special_uses() {
    auto st = db_.prepare("SELECT name, special_use FROM folders WHERE special_use != ''");
    if (!st) return st.error();
    std::map<std::string, std::string> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out[st->text(0)] = st->text(1);
    }
}

Result<std::map<std::string, bool>> MailboxIndex::subscriptions() {
    auto st = db_.prepare("SELECT name, subscribed FROM subscriptions");
    if (!st) return st.error();
    std::map<std::string, bool> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out[st->text(0)] = st->int64(1) != 0;
    }
}

Result<std::vector<std::pair<std::string, std::string>>> MailboxIndex::metadata(std::string_view folder) {
    auto st = db_.prepare("SELECT entry, value FROM metadata WHERE folder=? ORDER BY entry");
    if (!st) return st.error();
    st->bind(1, canonical(folder));
    std::vector<std::pair<std::string, std::string>> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return out;
        out.emplace_back(st->text(0), st->text(1));
    }
}

Result<bool> MailboxIndex::set_metadata(std::string_view folder,
                                        const std::vector<std::pair<std::string, std::optional<std::string>>>& entries,
                                        int64_t max_entries) {
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    std::string name = canonical(folder);
    for (auto& [entry, value] : entries) {
        auto st = db_.prepare(value ? "INSERT OR REPLACE INTO metadata VALUES(?,?,?)"
                                    : "DELETE FROM metadata WHERE folder=? AND entry=?");
        if (!st) return st.error();
        st->bind(1, name).bind(2, entry);
        if (value) st->bind(3, *value);
        MAIL_TRY(st->run());
    }
    auto count = db_.prepare("SELECT count(*) FROM metadata");
    if (!count) return count.error();
    auto row = count->step();
    if (!row) return row.error();
    if (*row && count->int64(0) > max_entries) return false; // rolled back
    MAIL_TRY(tx.commit());
    return true;
}

} // namespace mail
