// What changes the selected mailbox: STORE, EXPUNGE, CLOSE, UNSELECT,
// CHECK, COPY and MOVE.
#include "session.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.hpp"
#include "base/log.hpp"
#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

// ---- selected state -------------------------------------------------------

void Session::cmd_check(const Command& c) { ok(c, "CHECK completed"); }

void Session::cmd_unselect(const Command& c) {
    sel_.reset();
    state_ = State::authenticated;
    ok(c, "UNSELECT completed");
}

void Session::cmd_close(const Command& c) {
    if (sel_->read_write) {
        std::vector<int64_t> uids;
        for (auto& m : sel_->msgs)
            if (m.flags.find('T') != std::string::npos && !m.gone) {
                std::string p = sel_->find_path(m);
                if (!p.empty() && ::unlink(p.c_str()) != 0 && errno != ENOENT) return fail(c, sys_error("unlink", p));
                uids.push_back(m.uid);
            }
        if (Status st = index_->remove(sel_->state.id, uids); !st) return fail(c, st.error());
    }
    sel_.reset();
    state_ = State::authenticated;
    ok(c, "CLOSE completed");
}

Status Session::set_flags(Msg& m, const std::string& letters, const std::string& keywords) {
    if (letters == m.flags && keywords == m.keywords) return {};
    if (letters != m.flags || m.subdir == "new") {
        std::string from = sel_->find_path(m);
        if (from.empty()) return make_error(Errc::noinput, "message expunged", m.base);
        std::string to = sel_->dir + "/cur/" + maildir::join_name({m.base, letters});
        if (from != to && ::rename(from.c_str(), to.c_str()) != 0) {
            if (errno == ENOENT) return make_error(Errc::noinput, "message expunged", from);
            return sys_error("rename", from);
        }
        m.subdir = "cur";
    }
    m.flags = letters;
    m.keywords = keywords;
    auto modseq = index_->set_flags(sel_->state.id, m.uid, m.subdir, letters, keywords);
    if (!modseq) return modseq.error();
    if (*modseq) m.modseq = *modseq;
    return {};
}

// ---- STORE ----------------------------------------------------------------

namespace {

// The flag arguments of STORE (after the set and the item): atoms, or
// lists of atoms; nullopt when something else is there.
std::optional<std::vector<std::string>> flag_arguments(const std::vector<Value>& args) {
    std::vector<std::string> given;
    for (size_t i = 2; i < args.size(); i++) {
        if (args[i].kind == Value::Kind::list) {
            for (auto& v : args[i].items) {
                if (v.kind != Value::Kind::atom) return std::nullopt;
                given.push_back(v.text);
            }
        } else if (args[i].kind == Value::Kind::atom) {
            given.push_back(args[i].text);
        } else {
            return std::nullopt;
        }
    }
    return given;
}

} // namespace

// STORE's request: FLAGS, +FLAGS or -FLAGS with their letters and keywords.
struct Session::StoreRequest {
    char mode = '='; // '=', '+' or '-'
    std::string letters;
    std::vector<std::string> keywords;
    bool silent = false;
    std::optional<int64_t> unchanged_since;
};

namespace {

// A message's flag letters and keywords after the change.
std::pair<std::string, std::string> apply(const Session::StoreRequest& ch, const std::string& flags, const std::string& keywords) {
    std::string nl = flags;
    std::vector<std::string> nk = split_keywords(keywords);
    auto given = [&](const std::string& k) {
        return std::any_of(ch.keywords.begin(), ch.keywords.end(), [&](auto& x) { return iequals(x, k); });
    };
    if (ch.mode == '=') {
        nl = ch.letters, nk = ch.keywords;
    } else if (ch.mode == '+') {
        nl += ch.letters;
        for (auto& k : ch.keywords)
            if (std::none_of(nk.begin(), nk.end(), [&](auto& x) { return iequals(x, k); })) nk.push_back(k);
    } else {
        std::erase_if(nl, [&](char l) { return ch.letters.find(l) != std::string::npos; });
        std::erase_if(nk, given);
    }
    return {maildir::normalize_flags(nl), join_keywords(nk)};
}

} // namespace

void Session::cmd_store(const Command& c) {
    // STORE set [(UNCHANGEDSINCE modseq)] item flags
    std::vector<Value> args = c.args;
    StoreRequest r;
    if (args.size() >= 2 && args[1].kind == Value::Kind::list) {
        auto& mods = args[1].items;
        if (mods.size() != 2 || !mods[0].is("UNCHANGEDSINCE") || !(r.unchanged_since = mod_sequence(mods[1])))
            return bad(c, "STORE modifiers: (UNCHANGEDSINCE mod-sequence)");
        args.erase(args.begin() + 1);
        enable_condstore();
    }
    if (args.size() < 3 || args[1].kind != Value::Kind::atom) return bad(c, "STORE set item flags");
    std::vector<size_t> seqs;
    if (!resolve(c, args[0], c.uid, seqs)) return;
    std::string item = ascii_upper(args[1].text);
    r.silent = item.ends_with(".SILENT");
    if (r.silent) item.resize(item.size() - 7);
    r.mode = item.starts_with("+") ? '+' : item.starts_with("-") ? '-' : '=';
    if (r.mode != '=') item = item.substr(1);
    if (item != "FLAGS") return bad(c, "STORE item must be FLAGS, +FLAGS or -FLAGS");
    if (!sel_->read_write) return no(c, "[READ-ONLY] mailbox is read-only");
    auto given = flag_arguments(args);
    if (!given) return bad(c, "flags are atoms");
    // \Recent cannot be stored; it is ignored, as most servers do.
    std::erase_if(*given, [](auto& f) { return iequals(f, "\\Recent"); });
    if (!parse_flags(*given, r.letters, r.keywords)) return bad(c, "invalid flag");
    Transaction tx = index_->transaction();
    if (Status st = tx.begin_unsynced(); !st) return fail(c, st.error());
    std::string out;
    std::vector<int64_t> modified; // failed UNCHANGEDSINCE: sequence numbers, or UIDs for UID STORE
    for (size_t seq : seqs) {
        auto told = store_one(c, seq, r, modified);
        if (!told) return fail(c, told.error());
        out += *told;
    }
    if (Status st = index_->commit_changes(tx, sel_->state.id); !st) return fail(c, st.error());
    io_.write(out);
    if (!modified.empty()) return ok(c, fmt::format("[MODIFIED {}] conditional STORE failed for some messages", uid_set(modified)));
    ok(c, c.uid ? "UID STORE completed" : "STORE completed");
}

// One message of a STORE, inside its transaction: the FETCH response owed.
Result<std::string> Session::store_one(const Command& c, size_t seq, const StoreRequest& r, std::vector<int64_t>& modified) {
    Msg& m = sel_->msgs[seq - 1];
    if (m.gone) return std::string();
    // From the index under the write lock, not from this session's
    // view: another session's change since then is kept, not undone.
    auto current = index_->message(sel_->state.id, m.uid);
    if (!current) return current.error();
    if (!*current) return std::string(); // expunged elsewhere
    bool others = (*current)->flags != m.flags || (*current)->keywords != m.keywords;
    m.flags = (*current)->flags, m.keywords = (*current)->keywords, m.subdir = (*current)->subdir;
    int64_t modseq = (*current)->modseq;
    if (r.unchanged_since && modseq > *r.unchanged_since) {
        modified.push_back(c.uid ? m.uid : static_cast<int64_t>(seq));
        return std::string();
    }
    auto [nl, nk] = apply(r, m.flags, m.keywords);
    m.modseq = modseq;
    Status st = set_flags(m, nl, nk);
    if (!st && st.error().code != Errc::noinput) return st.error();
    if (!st) return std::string();
    std::string news = sel_->note_keywords(m.keywords); // a new keyword: FLAGS first
    if (!r.silent || others) return news + sel_->flags_response(seq, c.uid, condstore_);
    if (condstore_ && m.modseq != modseq) // .SILENT still tells the new MODSEQ
        return news + fmt::format("* {} FETCH ({}MODSEQ ({}))\r\n", seq, c.uid ? fmt::format("UID {} ", m.uid) : "", m.modseq);
    return news;
}

// ---- EXPUNGE ------------------------------------------------------------------

void Session::cmd_expunge(const Command& c) {
    if (!sel_->read_write) return no(c, "[READ-ONLY] mailbox is read-only");
    std::vector<size_t> only;
    if (c.uid) {
        if (c.args.size() != 1) return bad(c, "UID EXPUNGE set");
        if (!resolve(c, c.args[0], true, only)) return;
    } else if (!c.args.empty()) {
        return bad(c, "EXPUNGE takes no arguments");
    }
    std::vector<int64_t> uids;
    std::vector<size_t> seqs;
    for (size_t i = 0; i < sel_->msgs.size(); i++) {
        Msg& m = sel_->msgs[i];
        if (m.flags.find('T') == std::string::npos || m.gone) continue;
        if (c.uid && !std::binary_search(only.begin(), only.end(), i + 1)) continue;
        std::string p = sel_->find_path(m);
        if (!p.empty() && ::unlink(p.c_str()) != 0 && errno != ENOENT) return fail(c, sys_error("unlink", p));
        uids.push_back(m.uid);
        seqs.push_back(i + 1);
    }
    // As durable as a flag change (store/index.hpp's commit_changes).
    if (Status st = index_->remove(sel_->state.id, uids); !st) return fail(c, st.error());
    io_.write(sel_->expunge(seqs, qresync_));
    if (condstore_) { // the new HIGHESTMODSEQ in the tagged OK (RFC 7162)
        auto f = index_->find_folder(sel_->name);
        if (f && *f) return ok(c, fmt::format("[HIGHESTMODSEQ {}] EXPUNGE completed", (*f)->highestmodseq));
    }
    ok(c, "EXPUNGE completed");
}

// ---- COPY / MOVE ----------------------------------------------------------------

void Session::cmd_copy(const Command& c) { copy(c, false); }
void Session::cmd_move(const Command& c) { copy(c, true); }

// COPY or MOVE in progress: the hard links made so far, for the index.
struct Session::CopyBatch {
    std::string name, dest, host;
    bool move = false;
    std::vector<NewFile> files;
    std::vector<int64_t> src_uids;
    std::vector<std::string> sources, made;
    uint64_t added = 0;
    void undo() const {
        for (auto& p : made) ::unlink(p.c_str());
    }
};

void Session::copy(const Command& c, bool move) {
    if (c.args.size() != 2) return bad(c, move ? "MOVE set mailbox" : "COPY set mailbox");
    std::vector<size_t> seqs;
    if (!resolve(c, c.args[0], c.uid, seqs)) return;
    auto name = mailbox_arg(c, c.args[1]);
    if (!name) return;
    if (!folder_exists(root_, *name)) return no(c, "[TRYCREATE] no such mailbox");
    if (move && !sel_->read_write) return no(c, "[READ-ONLY] mailbox is read-only");
    CopyBatch b{*name, maildir::folder_path(root_, *name), host_name(cfg_), move, {}, {}, {}, {}, 0};
    for (size_t seq : seqs)
        if (Status st = copy_one(sel_->msgs[seq - 1], b); !st) {
            b.undo();
            return fail(c, st.error());
        }
    if (!move && quota_) {
        auto used = index_->total_size();
        if (used && static_cast<uint64_t>(*used) + b.added > quota_) {
            b.undo();
            return no(c, "[OVERQUOTA] mailbox full");
        }
    }
    if (Status st = fsync_dir(b.dest + "/cur"); !st) {
        b.undo();
        return fail(c, st.error());
    }
    std::vector<int64_t> new_uids;
    if (Status st = index_->add_delivered(b.name, b.files, &new_uids); !st) log::warn("imapd.copy", "{}", st.error().detail);
    auto target = index_->folder(b.name);
    std::string code;
    if (target && !new_uids.empty() && std::find(new_uids.begin(), new_uids.end(), 0) == new_uids.end())
        code = fmt::format("[COPYUID {} {} {}] ", target->uidvalidity, uid_set(b.src_uids), uid_set(new_uids));
    if (!move) return ok(c, code + "COPY completed");
    // MOVE: the originals go once the copies are safe (a crash in between
    // leaves a duplicate, never a loss).
    for (auto& p : b.sources)
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) log::warn("imapd.move", "unlink {}: {}", p, strerror(errno));
    (void)fsync_dir(sel_->dir + "/cur");
    (void)fsync_dir(sel_->dir + "/new");
    if (Status st = index_->remove(sel_->state.id, b.src_uids); !st) return fail(c, st.error());
    if (!code.empty()) io_.write("* OK " + code + "moved\r\n");
    std::vector<size_t> moved;
    for (int64_t uid : b.src_uids)
        if (size_t seq = sel_->seq_of(uid)) moved.push_back(seq);
    io_.write(sel_->expunge(moved, qresync_));
    ok(c, "MOVE completed");
}

// One message linked into the target folder (a hard link: the same bytes
// under a second name, never a partial copy). A message gone meanwhile is
// skipped.
Status Session::copy_one(const Msg& m, CopyBatch& b) {
    if (m.gone) return {};
    std::string from = sel_->find_path(m);
    if (from.empty()) return {};
    struct stat st;
    if (stat(from.c_str(), &st) != 0) return {};
    NewFile n;
    n.base = b.move && b.name != sel_->name ? m.base : maildir::unique_name(b.host, static_cast<size_t>(st.st_size));
    n.size = st.st_size;
    n.internaldate = m.internaldate;
    n.flags = m.flags;
    n.subdir = "cur";
    n.keywords = m.keywords;
    std::string to = b.dest + "/cur/" + maildir::join_name({n.base, n.flags});
    if (::link(from.c_str(), to.c_str()) != 0) return errno == ENOENT ? Status{} : sys_error("link", to);
    b.made.push_back(to);
    // The copy's header fields: the source's cache row, or its file.
    auto cached = index_->cached_fields(sel_->state.id, m.uid);
    if (cached && *cached) {
        n.fields = std::move(**cached);
    } else if (Fd fd(::open(from.c_str(), O_RDONLY | O_CLOEXEC)); fd) {
        char head[16384];
        ssize_t r = pread(fd.get(), head, sizeof head, 0);
        n.fields = cache_fields(std::string_view(head, r > 0 ? static_cast<size_t>(r) : 0));
    }
    b.added += static_cast<uint64_t>(st.st_size);
    b.files.push_back(std::move(n));
    b.src_uids.push_back(m.uid);
    b.sources.push_back(from);
    return {};
}

} // namespace mail::imap
