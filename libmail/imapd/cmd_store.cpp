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

void Session::cmd_store(const Command& c) {
    // STORE set [(UNCHANGEDSINCE modseq)] item flags
    std::vector<Value> args = c.args;
    std::optional<int64_t> unchanged_since;
    if (args.size() >= 2 && args[1].kind == Value::Kind::list) {
        auto& mods = args[1].items;
        if (mods.size() != 2 || !mods[0].is("UNCHANGEDSINCE") || !(unchanged_since = mod_sequence(mods[1])))
            return bad(c, "STORE modifiers: (UNCHANGEDSINCE mod-sequence)");
        args.erase(args.begin() + 1);
        condstore_ = true;
    }
    if (args.size() < 3 || args[1].kind != Value::Kind::atom) return bad(c, "STORE set item flags");
    std::vector<size_t> seqs;
    if (!resolve(c, args[0], c.uid, seqs)) return;
    std::string item = ascii_upper(args[1].text);
    bool silent = item.ends_with(".SILENT");
    if (silent) item.resize(item.size() - 7);
    char mode = item.starts_with("+") ? '+' : item.starts_with("-") ? '-' : '=';
    if (mode != '=') item = item.substr(1);
    if (item != "FLAGS") return bad(c, "STORE item must be FLAGS, +FLAGS or -FLAGS");
    if (!sel_->read_write) return no(c, "[READ-ONLY] mailbox is read-only");
    std::vector<std::string> given;
    for (size_t i = 2; i < args.size(); i++) {
        if (args[i].kind == Value::Kind::list) {
            for (auto& v : args[i].items) {
                if (v.kind != Value::Kind::atom) return bad(c, "flags are atoms");
                given.push_back(v.text);
            }
        } else if (args[i].kind == Value::Kind::atom) {
            given.push_back(args[i].text);
        } else {
            return bad(c, "flags are atoms");
        }
    }
    std::string letters;
    std::vector<std::string> keywords;
    // \Recent cannot be stored; it is ignored, as most servers do.
    given.erase(std::remove_if(given.begin(), given.end(), [](auto& f) { return iequals(f, "\\Recent"); }), given.end());
    if (!parse_flags(given, letters, keywords)) return bad(c, "invalid flag");
    Transaction tx = index_->transaction();
    if (Status st = tx.begin(); !st) return fail(c, st.error());
    std::string out;
    std::vector<int64_t> modified; // failed UNCHANGEDSINCE: sequence numbers, or UIDs for UID STORE
    for (size_t seq : seqs) {
        Msg& m = sel_->msgs[seq - 1];
        if (m.gone) continue;
        // From the index under the write lock, not from this session's
        // view: another session's change since then is kept, not undone.
        auto current = index_->message(sel_->state.id, m.uid);
        if (!current) return fail(c, current.error());
        if (!*current) continue; // expunged elsewhere
        bool others = (*current)->flags != m.flags || (*current)->keywords != m.keywords;
        m.flags = (*current)->flags, m.keywords = (*current)->keywords, m.subdir = (*current)->subdir;
        int64_t modseq = (*current)->modseq;
        if (unchanged_since && modseq > *unchanged_since) {
            modified.push_back(c.uid ? m.uid : static_cast<int64_t>(seq));
            continue;
        }
        std::string nl = m.flags;
        std::vector<std::string> nk = split_keywords(m.keywords);
        if (mode == '=') {
            nl = letters, nk = keywords;
        } else if (mode == '+') {
            nl += letters;
            for (auto& k : keywords)
                if (std::none_of(nk.begin(), nk.end(), [&](auto& x) { return iequals(x, k); })) nk.push_back(k);
        } else {
            std::string kept;
            for (char l : nl)
                if (letters.find(l) == std::string::npos) kept += l;
            nl = kept;
            nk.erase(std::remove_if(nk.begin(), nk.end(),
                                    [&](auto& x) {
                                        return std::any_of(keywords.begin(), keywords.end(),
                                                           [&](auto& k) { return iequals(x, k); });
                                    }),
                     nk.end());
        }
        m.modseq = modseq;
        Status st = set_flags(m, maildir::normalize_flags(nl), join_keywords(nk));
        if (!st && st.error().code != Errc::noinput) return fail(c, st.error());
        if (!st) continue;
        bool changed = m.modseq != modseq;
        if (!silent || others) out += sel_->flags_response(seq, c.uid, condstore_);
        else if (condstore_ && changed) // .SILENT still tells the new MODSEQ
            out += fmt::format("* {} FETCH ({}MODSEQ ({}))\r\n", seq, c.uid ? fmt::format("UID {} ", m.uid) : "", m.modseq);
    }
    if (Status st = tx.commit(); !st) return fail(c, st.error());
    io_.write(out);
    if (!modified.empty()) return ok(c, fmt::format("[MODIFIED {}] conditional STORE failed for some messages", uid_set(modified)));
    ok(c, c.uid ? "UID STORE completed" : "STORE completed");
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
    if (!uids.empty()) {
        (void)fsync_dir(sel_->dir + "/cur");
        if (Status st = index_->remove(sel_->state.id, uids); !st) return fail(c, st.error());
    }
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

void Session::copy(const Command& c, bool move) {
    if (c.args.size() != 2) return bad(c, move ? "MOVE set mailbox" : "COPY set mailbox");
    std::vector<size_t> seqs;
    if (!resolve(c, c.args[0], c.uid, seqs)) return;
    auto name = mailbox_arg(c, c.args[1]);
    if (!name) return;
    if (!folder_exists(root_, *name)) return no(c, "[TRYCREATE] no such mailbox");
    if (move && !sel_->read_write) return no(c, "[READ-ONLY] mailbox is read-only");
    std::string dest = maildir::folder_path(root_, *name);
    std::string host = host_name(cfg_);
    std::vector<NewFile> files;
    std::vector<int64_t> src_uids;
    std::vector<std::string> sources, made;
    uint64_t added = 0;
    auto undo = [&] {
        for (auto& p : made) ::unlink(p.c_str());
    };
    for (size_t seq : seqs) {
        const Msg& m = sel_->msgs[seq - 1];
        if (m.gone) continue;
        std::string from = sel_->find_path(m);
        if (from.empty()) continue;
        struct stat st;
        if (stat(from.c_str(), &st) != 0) continue;
        NewFile n;
        n.base = move && *name != sel_->name ? m.base : maildir::unique_name(host, static_cast<size_t>(st.st_size));
        n.size = st.st_size;
        n.internaldate = m.internaldate;
        n.flags = m.flags;
        n.subdir = "cur";
        n.keywords = m.keywords;
        std::string to = dest + "/cur/" + maildir::join_name({n.base, n.flags});
        // A hard link: the same bytes under a second name, never a partial copy.
        if (::link(from.c_str(), to.c_str()) != 0) {
            undo();
            if (errno == ENOENT) continue;
            return fail(c, sys_error("link", to));
        }
        made.push_back(to);
        // The copy's header fields: the source's cache row, or its file.
        auto cached = index_->cached_fields(sel_->state.id, m.uid);
        if (cached && *cached) {
            n.fields = std::move(**cached);
        } else if (Fd fd(::open(from.c_str(), O_RDONLY | O_CLOEXEC)); fd) {
            char head[16384];
            ssize_t r = pread(fd.get(), head, sizeof head, 0);
            n.fields = cache_fields(std::string_view(head, r > 0 ? static_cast<size_t>(r) : 0));
        }
        added += static_cast<uint64_t>(st.st_size);
        files.push_back(std::move(n));
        src_uids.push_back(m.uid);
        sources.push_back(from);
    }
    if (!move && quota_) {
        auto used = index_->total_size();
        if (used && static_cast<uint64_t>(*used) + added > quota_) {
            undo();
            return no(c, "[OVERQUOTA] mailbox full");
        }
    }
    if (Status st = fsync_dir(dest + "/cur"); !st) {
        undo();
        return fail(c, st.error());
    }
    std::vector<int64_t> new_uids;
    if (Status st = index_->add_delivered(*name, files, &new_uids); !st) log::warn("imapd.copy", "{}", st.error().detail);
    auto target = index_->folder(*name);
    std::string code;
    if (target && !new_uids.empty() && std::find(new_uids.begin(), new_uids.end(), 0) == new_uids.end())
        code = fmt::format("[COPYUID {} {} {}] ", target->uidvalidity, uid_set(src_uids), uid_set(new_uids));
    if (!move) return ok(c, code + "COPY completed");
    // MOVE: the originals go once the copies are safe (a crash in between
    // leaves a duplicate, never a loss).
    for (auto& p : sources)
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) log::warn("imapd.move", "unlink {}: {}", p, strerror(errno));
    (void)fsync_dir(sel_->dir + "/cur");
    (void)fsync_dir(sel_->dir + "/new");
    if (Status st = index_->remove(sel_->state.id, src_uids); !st) return fail(c, st.error());
    if (!code.empty()) io_.write("* OK " + code + "moved\r\n");
    std::vector<size_t> moved;
    for (int64_t uid : src_uids)
        if (size_t seq = sel_->seq_of(uid)) moved.push_back(seq);
    io_.write(sel_->expunge(moved, qresync_));
    ok(c, "MOVE completed");
}

} // namespace mail::imap
