// SELECT and EXAMINE (with CONDSTORE and QRESYNC), CREATE, DELETE,
// RENAME, SUBSCRIBE and UNSUBSCRIBE.
#include "session.hpp"

#include <algorithm>
#include <dirent.h>
#include <fmt/format.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.hpp"
#include "base/log.hpp"
#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

namespace {

// The special uses a folder can be created with (RFC 6154); \All and
// \Flagged would be virtual folders, which the store has not.
const char* const use_attributes[] = {"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"};

Status remove_tree(const std::string& path) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(path.c_str()), closedir);
    if (!d) return errno == ENOENT ? Status{} : sys_error("opendir", path);
    while (auto* e = readdir(d.get())) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        std::string p = path + "/" + n;
        struct stat st;
        if (lstat(p.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) MAIL_TRY(remove_tree(p));
        else if (::unlink(p.c_str()) != 0 && errno != ENOENT) return sys_error("unlink", p);
    }
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return sys_error("rmdir", path);
    return {};
}

} // namespace

// The parameters of SELECT (QRESYNC (...)). The sequence match data only
// helps servers that forget expunges; ours keeps them all, so it is
// checked and not needed.
struct Qresync {
    int64_t validity = 0, since = 0;
    std::optional<SequenceSet> known; // the client's UIDs; all when absent
};

namespace {

std::optional<Qresync> parse_qresync(const Value& p) {
    auto& v = p.items;
    if (v.size() < 2 || v.size() > 4) return std::nullopt;
    auto validity = mod_sequence(v[0]), since = mod_sequence(v[1]);
    if (!validity || !since || *validity == 0 || *since == 0 || *validity > UINT32_MAX) return std::nullopt;
    Qresync q{*validity, *since, std::nullopt};
    auto set_of = [](const Value& x) {
        return x.kind == Value::Kind::atom ? parse_sequence_set(x.text) : Result<SequenceSet>(make_error(Errc::data, "x"));
    };
    if (v.size() >= 3) {
        auto set = set_of(v[2]);
        if (!set || set->saved) return std::nullopt;
        q.known = *set;
    }
    if (v.size() == 4 && (v[3].kind != Value::Kind::list || v[3].items.size() != 2 ||
                          !std::all_of(v[3].items.begin(), v[3].items.end(), [&](auto& x) { return bool(set_of(x)); })))
        return std::nullopt;
    return q;
}

} // namespace

void Session::select(const Command& c, bool read_write) {
    if (c.args.empty() || c.args.size() > 2) return bad(c, "SELECT mailbox [(parameters)]");
    // Parameters: (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids ...])).
    std::optional<Qresync> qresync;
    if (c.args.size() == 2) {
        auto& params = c.args[1];
        if (params.kind != Value::Kind::list) return bad(c, "SELECT parameters are a list");
        for (size_t i = 0; i < params.items.size(); i++) {
            if (params.items[i].is("CONDSTORE")) {
                condstore_ = true;
            } else if (params.items[i].is("QRESYNC") && i + 1 < params.items.size() &&
                       params.items[i + 1].kind == Value::Kind::list) {
                if (!qresync_) return bad(c, "QRESYNC must be enabled first (ENABLE QRESYNC)");
                qresync = parse_qresync(params.items[++i]);
                if (!qresync) return bad(c, "QRESYNC (uidvalidity modseq [known-uids [(sequences uids)]])");
            } else {
                return bad(c, "unknown SELECT parameter");
            }
        }
    }
    if (sel_) io_.write("* OK [CLOSED] previous mailbox closed\r\n"); // RFC 7162 3.2.11
    sel_.reset(); // a failed SELECT leaves the session unselected (RFC 3501 6.3.1)
    state_ = State::authenticated;
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    if (!folder_exists(root_, *name)) return no(c, "[NONEXISTENT] no such mailbox");
    auto s = Selected::open(*index_, root_, *name, read_write, !rev2_);
    if (!s) return fail(c, s.error());
    sel_ = std::move(*s);
    state_ = State::selected;
    saved_.clear();
    size_t unseen = 0;
    for (size_t i = 0; i < sel_->msgs.size() && !unseen; i++)
        if (sel_->msgs[i].flags.find('S') == std::string::npos) unseen = i + 1;
    io_.write(sel_->flag_lines());
    io_.write(fmt::format("* {} EXISTS\r\n", sel_->msgs.size()));
    if (rev2_) { // IMAP4rev2: the mailbox's name, no RECENT, no UNSEEN (RFC 9051 6.3.2)
        io_.write(fmt::format("* LIST () \"/\" {}\r\n", mailbox_value(sel_->name)));
    } else {
        io_.write(fmt::format("* {} RECENT\r\n", sel_->recent_count()));
        if (unseen) io_.write(fmt::format("* OK [UNSEEN {}] first unseen\r\n", unseen));
    }
    io_.write(fmt::format("* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] predicted next UID\r\n",
                          sel_->state.uidvalidity, sel_->state.uidnext));
    io_.write(fmt::format("* OK [HIGHESTMODSEQ {}] modification sequences kept\r\n", sel_->state.highestmodseq));
    if (qresync)
        if (Status st = qresync_report(*qresync); !st) return fail(c, st.error());
    ok(c, read_write ? "[READ-WRITE] SELECT completed" : "[READ-ONLY] EXAMINE completed");
}

// SELECT ... (QRESYNC ...) once the mailbox is open: what changed since
// the client's MODSEQ, as VANISHED (EARLIER) and FETCH (RFC 7162 3.2.5).
Status Session::qresync_report(const Qresync& q) {
    if (q.validity != sel_->state.uidvalidity) return {}; // nothing the client knows is valid
    auto largest = static_cast<uint32_t>(sel_->state.uidnext - 1);
    auto in_known = [&](int64_t uid) { return !q.known || q.known->contains(static_cast<uint32_t>(uid), largest); };
    auto gone = index_->expunged_since(sel_->state.id, q.since);
    if (!gone) return gone.error();
    std::vector<int64_t> vanished;
    for (int64_t uid : *gone)
        if (in_known(uid)) vanished.push_back(uid);
    if (!vanished.empty()) io_.write("* VANISHED (EARLIER) " + uid_set(vanished) + "\r\n");
    for (size_t i = 0; i < sel_->msgs.size(); i++)
        if (sel_->msgs[i].modseq > q.since && in_known(sel_->msgs[i].uid)) io_.write(sel_->flags_response(i + 1, true, true));
    return {};
}

void Session::cmd_select(const Command& c) { select(c, true); }
void Session::cmd_examine(const Command& c) { select(c, false); }

void Session::cmd_create(const Command& c) {
    // CREATE mailbox [(USE (\Sent ...))] (RFC 6154 CREATE-SPECIAL-USE)
    std::string use;
    if (c.args.size() == 2) {
        auto& p = c.args[1];
        if (p.kind != Value::Kind::list || p.items.size() != 2 || !p.items[0].is("USE") ||
            p.items[1].kind != Value::Kind::list)
            return bad(c, "CREATE mailbox [(USE (attributes))]");
        for (auto& a : p.items[1].items) {
            auto known = std::find_if(std::begin(use_attributes), std::end(use_attributes),
                                      [&](const char* u) { return iequals(a.text, u); });
            if (known == std::end(use_attributes))
                return no(c, "[USEATTR] special use not supported here: " + a.text +
                                 " (\\Archive \\Drafts \\Junk \\Sent \\Trash are)");
            if (use.find(*known) == std::string::npos) use += (use.empty() ? "" : " ") + std::string(*known);
        }
    } else if (c.args.size() != 1) {
        return bad(c, "CREATE mailbox");
    }
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    if (*name == "INBOX" || folder_exists(root_, *name)) return no(c, "[ALREADYEXISTS] mailbox exists");
    // Superiors are created too (RFC 3501 6.3.3).
    for (size_t slash = 0; (slash = name->find('/', slash)) != std::string::npos; slash++)
        if (!folder_exists(root_, name->substr(0, slash)))
            if (Status st = maildir::create_folder(root_, name->substr(0, slash)); !st) return fail(c, st.error());
    if (Status st = maildir::create_folder(root_, *name); !st) return fail(c, st.error());
    // A new folder starts a new UID series, even where an old one of the
    // same name was deleted.
    if (Status st = index_->drop_folder(*name); !st) return fail(c, st.error());
    if (!use.empty())
        if (Status st = index_->set_special_use(*name, use); !st) return fail(c, st.error());
    ok(c, "CREATE completed");
}

void Session::cmd_delete(const Command& c) {
    if (c.args.size() != 1) return bad(c, "DELETE mailbox");
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    if (*name == "INBOX") return no(c, "[CANNOT] INBOX cannot be deleted");
    if (!folder_exists(root_, *name)) return no(c, "[NONEXISTENT] no such mailbox");
    if (sel_ && sel_->name == *name) sel_.reset(), state_ = State::authenticated;
    // Out of sight in one rename (INBOX's tmp/ is on the same file system),
    // then removed: a crash leaves a directory in tmp/, never half a folder.
    std::string dir = maildir::folder_path(root_, *name);
    std::string gone = root_ + "/tmp/deleted-" + maildir::unique_name("imapd", 0);
    if (::rename(dir.c_str(), gone.c_str()) != 0) return fail(c, sys_error("rename", dir));
    if (Status st = fsync_dir(root_); !st) return fail(c, st.error());
    // DELETE leaves the subscription (RFC 3501 6.3.9): LSUB shows it \Noselect.
    if (Status st = index_->keep_subscription(*name); !st) return fail(c, st.error());
    if (Status st = index_->drop_folder(*name); !st) return fail(c, st.error());
    if (Status st = remove_tree(gone); !st) log::warn("imapd.delete", "{}", st.error().detail);
    ok(c, "DELETE completed");
}

void Session::cmd_rename(const Command& c) {
    if (c.args.size() != 2) return bad(c, "RENAME from to");
    auto from = mailbox_arg(c, c.args[0]);
    if (!from) return;
    auto to = mailbox_arg(c, c.args[1]);
    if (!to) return;
    if (!folder_exists(root_, *from)) return no(c, "[NONEXISTENT] no such mailbox");
    if (*to == "INBOX" || folder_exists(root_, *to)) return no(c, "[ALREADYEXISTS] target exists");
    if (to->starts_with(*from + "/")) return no(c, "[CANNOT] cannot move a mailbox into itself");
    for (size_t slash = 0; (slash = to->find('/', slash)) != std::string::npos; slash++)
        if (!folder_exists(root_, to->substr(0, slash)))
            if (Status st = maildir::create_folder(root_, to->substr(0, slash)); !st) return fail(c, st.error());
    if (*from == "INBOX") {
        // RENAME INBOX moves its messages into a new folder; INBOX stays, empty.
        if (Status st = maildir::create_folder(root_, *to); !st) return fail(c, st.error());
        if (Status st = index_->drop_folder(*to); !st) return fail(c, st.error());
        std::string dest = maildir::folder_path(root_, *to);
        for (const char* sub : {"new", "cur"}) {
            std::string src = root_ + "/" + sub;
            std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(src.c_str()), closedir);
            if (!d) return fail(c, sys_error("opendir", src));
            while (auto* e = readdir(d.get())) {
                if (e->d_name[0] == '.') continue;
                std::string a = src + "/" + e->d_name, b = dest + "/" + sub + "/" + e->d_name;
                if (::rename(a.c_str(), b.c_str()) != 0 && errno != ENOENT) return fail(c, sys_error("rename", a));
            }
            if (Status st = fsync_dir(dest + "/" + sub); !st) return fail(c, st.error());
            if (Status st = fsync_dir(src); !st) return fail(c, st.error());
        }
        (void)index_->scan("INBOX", true);
        return ok(c, "RENAME completed");
    }
    // The folder and its children: ".A", ".A.x" -> ".B", ".B.x"
    auto all = maildir::list_folders(root_);
    if (!all) return fail(c, all.error());
    for (auto& f : *all) {
        if (f != *from && !f.starts_with(*from + "/")) continue;
        std::string target = *to + f.substr(from->size());
        std::string a = maildir::folder_path(root_, f), b = maildir::folder_path(root_, target);
        if (::rename(a.c_str(), b.c_str()) != 0) return fail(c, sys_error("rename", a));
    }
    if (Status st = fsync_dir(root_); !st) return fail(c, st.error());
    if (Status st = index_->rename_folder(*from, *to); !st) return fail(c, st.error());
    if (sel_ && (sel_->name == *from || sel_->name.starts_with(*from + "/"))) sel_.reset(), state_ = State::authenticated;
    ok(c, "RENAME completed");
}

void Session::cmd_subscribe(const Command& c) { subscribe(c, true); }
void Session::cmd_unsubscribe(const Command& c) { subscribe(c, false); }

void Session::subscribe(const Command& c, bool on) {
    if (c.args.size() != 1) return bad(c, on ? "SUBSCRIBE mailbox" : "UNSUBSCRIBE mailbox");
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    if (Status st = index_->subscribe(*name, on); !st) return fail(c, st.error());
    ok(c, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

} // namespace mail::imap
