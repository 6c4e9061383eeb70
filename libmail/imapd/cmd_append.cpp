// APPEND and MULTIAPPEND: each message streamed from its literal into
// tmp/ (CRLF to LF), and committed with the others only when all arrived.
#include "session.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>

#include "base/encoding.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

// A MULTIAPPEND in progress: where to, and the messages received so far,
// each synced in tmp/ and not yet in new/ or cur/.
struct Session::Append {
    struct Staged {
        maildir::MessageFile file;
        std::string flags, keywords;
        int64_t date;
        uint64_t size;
        CachedFields fields;
    };
    std::string tag, host, name, dir;
    bool exists = false;
    uint64_t used = 0;  // the mailbox's size before (with a quota)
    LiteralMark lit;    // of the message coming next
    bool utf8 = false;  // inside "UTF8 (" ... ")" (RFC 6855)
    std::vector<Staged> staged;
};

// Answer the APPEND. A non-synchronising literal the client is already
// sending is read and dropped first, with the rest of the command (RFC
// 7888 3): the session goes on.
void Session::append_fail(Append& a, std::string_view kind, std::string_view text, bool pending_literal) {
    if (pending_literal && a.lit.non_sync && !skip_literals(a.lit)) return void(state_ = State::logout);
    io_.write(fmt::format("{} {} {}\r\n", a.tag, kind, text));
}

// Drop `lit` and what follows it up to the end of the command, more
// non-synchronising literals (MULTIAPPEND) included. False when the
// connection is gone.
bool Session::skip_literals(LiteralMark lit) {
    net::set_deadline(idle_timeout);
    for (;;) {
        for (auto left = static_cast<uint64_t>(lit.size); left > 0;) {
            if (io_.buffered().empty() && !io_.fill()) return false;
            size_t n = static_cast<size_t>(std::min<uint64_t>(left, io_.buffered().size()));
            io_.consume(n);
            left -= n;
        }
        std::string rest;
        if (io_.read_line(rest, max_command) != net::Stream::Line::ok) return false;
        lit = literal_at_end(rest);
        // The end of the command, or a synchronising literal the client
        // sends only after a "+" that our answer replaces.
        if (lit.size < 0 || !lit.non_sync) return true;
    }
}

void Session::append_message(const Command& c, LiteralMark lit, bool utf8_data) {
    // `c` is the command up to its first message literal; more messages
    // (MULTIAPPEND) follow each literal on the same line.
    if (state_ == State::not_authenticated) {
        io_.write(fmt::format("{} BAD log in first\r\n", c.tag));
        if (lit.non_sync) state_ = State::logout;
        return;
    }
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) {
        if (lit.non_sync) state_ = State::logout;
        return;
    }
    Append a;
    a.tag = c.tag, a.host = host_name(cfg_), a.name = *name, a.lit = lit, a.utf8 = utf8_data;
    a.exists = folder_exists(root_, *name);
    a.dir = maildir::folder_path(root_, *name);
    if (quota_) {
        auto u = index_->total_size();
        a.used = u ? static_cast<uint64_t>(*u) : 0;
    }
    std::vector<Value> spec(c.args.begin() + 1, c.args.end());
    for (;;) {
        if (!append_one(a, spec)) return;
        // The rest of the line: the end, or another message (MULTIAPPEND).
        std::string rest;
        if (io_.read_line(rest, max_command) != net::Stream::Line::ok) return void(state_ = State::logout);
        if (a.utf8) { // the ")" closing "UTF8 ("
            if (!rest.starts_with(")")) return append_fail(a, "BAD", "APPEND UTF8 (literal8) without its \")\"", false);
            rest.erase(0, 1);
            if (rest.starts_with(" ")) rest.erase(0, 1);
        }
        if (rest.empty()) break;
        LiteralMark next = literal_at_end(rest);
        if (next.size < 0) return append_fail(a, "BAD", "APPEND: a message literal expected", false);
        std::string before = rest.substr(0, next.start);
        a.utf8 = strip_utf8_open(before);
        size_t pos = 0;
        auto vals = parse_values(before + "\r\n", pos);
        a.lit = next;
        if (!vals) return append_fail(a, "BAD", vals.error().user, true);
        spec = std::move(*vals);
    }
    append_commit(a);
}

// One message: its [flags] [date-time], then its literal into tmp/.
// False when answered (refused, or the connection is gone).
bool Session::append_one(Append& a, const std::vector<Value>& spec) {
    std::vector<std::string> given;
    int64_t date = time(nullptr);
    size_t i = 0;
    if (i < spec.size() && spec[i].kind == Value::Kind::list) {
        for (auto& v : spec[i].items) given.push_back(v.text);
        i++;
    }
    if (i < spec.size() && spec[i].kind == Value::Kind::string) {
        date = parse_internal_date(spec[i].text);
        if (date <= 0) return append_fail(a, "BAD", "invalid date-time", true), false;
        i++;
    }
    if (i != spec.size()) return append_fail(a, "BAD", "APPEND mailbox [(flags)] [date-time] literal", true), false;
    if (a.utf8 && !utf8_) return append_fail(a, "BAD", "APPEND UTF8 (...) needs ENABLE UTF8=ACCEPT", true), false;
    std::string letters;
    std::vector<std::string> keywords;
    given.erase(std::remove_if(given.begin(), given.end(), [](auto& f) { return iequals(f, "\\Recent"); }), given.end());
    if (!parse_flags(given, letters, keywords)) return append_fail(a, "BAD", "invalid flag", true), false;
    if (!a.exists) return append_fail(a, "NO", "[TRYCREATE] no such mailbox", true), false;
    auto size = static_cast<uint64_t>(a.lit.size);
    if (size > cfg_.delivery.max_message_size)
        return append_fail(a, "NO", fmt::format("[TOOBIG] message larger than {} bytes", cfg_.delivery.max_message_size), true), false;
    uint64_t pending = 0;
    for (auto& s : a.staged) pending += s.size;
    if (quota_ && a.used + pending + size > quota_) return append_fail(a, "NO", "[OVERQUOTA] mailbox full", true), false;
    auto file = maildir::MessageFile::create(a.dir, a.host);
    if (!file) {
        log::error("imapd.append", file.error());
        return append_fail(a, "NO", "[UNAVAILABLE] temporary problem, try again later", true), false;
    }
    if (!a.lit.non_sync) {
        io_.write("+ Ready for literal data\r\n");
        if (!io_.flush()) return state_ = State::logout, false;
    }
    std::string head;
    if (!read_append_literal(a, *file, head)) return false;
    file->set_mtime(date);
    Append::Staged s{std::move(*file), letters, join_keywords(keywords), date, 0, cache_fields(head)};
    s.size = s.file.size();
    a.staged.push_back(std::move(s));
    return true;
}

// The literal into `file`, CRLF turned into LF as the store keeps it, and
// its first 64 KiB into `head`. False when answered or disconnected.
bool Session::read_append_literal(Append& a, maildir::MessageFile& file, std::string& head) {
    net::set_deadline(idle_timeout);
    auto left = static_cast<uint64_t>(a.lit.size);
    bool write_failed = false, nul = false;
    CrlfFilter crlf;
    std::string chunk;
    while (left > 0) {
        if (io_.buffered().empty() && !io_.fill()) return state_ = State::logout, false;
        auto b = io_.buffered();
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, b.size()));
        chunk.clear();
        crlf.feed(b.substr(0, n), chunk);
        nul = nul || b.substr(0, n).find('\0') != std::string_view::npos;
        io_.consume(n);
        left -= n;
        if (left == 0) crlf.finish(chunk);
        if (head.size() < 65536) head.append(chunk.substr(0, 65536 - head.size()));
        if (!write_failed) write_failed = !file.write(chunk);
    }
    if (write_failed) return append_fail(a, "NO", "[UNAVAILABLE] temporary problem writing the message", false), false;
    // literal8 (BINARY): kept only when the store's LF form gives the same
    // bytes back: no NUL, no bare CR or LF.
    if (a.lit.binary && (nul || crlf.bare())) {
        // The rest of the command: a sync literal after this one is
        // refused by this answer; a non-sync one is read and dropped.
        std::string rest;
        if (io_.read_line(rest, max_command) != net::Stream::Line::ok) return state_ = State::logout, false;
        a.lit = literal_at_end(rest);
        append_fail(a, "NO", "[UNKNOWN-CTE] binary content (NUL, bare CR or LF) cannot be stored here; "
                             "send it with a content-transfer-encoding", true);
        return false;
    }
    return true;
}

// Commit point: every message synced and in new/ or cur/, then the
// directories synced, then the index: only then the OK.
void Session::append_commit(Append& a) {
    std::vector<NewFile> files;
    maildir::DirSync dirs;
    for (auto& s : a.staged) {
        bool cur = !s.flags.empty() || !s.keywords.empty();
        auto base = s.file.commit(s.flags, cur, &dirs);
        if (!base) {
            log::error("imapd.append", base.error());
            return append_fail(a, "NO", "[UNAVAILABLE] temporary problem, try again later", false);
        }
        files.push_back(NewFile{*base, static_cast<int64_t>(s.size), s.date, s.fields, s.flags, cur ? "cur" : "new", s.keywords});
    }
    if (Status st = dirs.sync(); !st) {
        log::error("imapd.append", st.error());
        return append_fail(a, "NO", "[UNAVAILABLE] temporary problem, try again later", false);
    }
    std::vector<int64_t> uids;
    Status indexed = index_->add_delivered(a.name, files, &uids);
    if (!indexed) log::warn("imapd.append", "{} (the next scan indexes it)", indexed.error().detail);
    auto f = index_->folder(a.name);
    Command done{a.tag, "APPEND", false, {}};
    if (indexed && f && std::find(uids.begin(), uids.end(), 0) == uids.end())
        ok(done, fmt::format("[APPENDUID {} {}] APPEND completed", f->uidvalidity, uid_set(uids)));
    else
        ok(done, "APPEND completed");
}

} // namespace mail::imap
