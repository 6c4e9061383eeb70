// APPEND and MULTIAPPEND: each message streamed from its literal into
// tmp/ (CRLF to LF), and committed with the others only when all arrived.
#include "session.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>

#include "base/files.hpp"
#include "base/log.hpp"
#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

// ---- APPEND ----------------------------------------------------------------------

void Session::append_message(const Command& c, LiteralMark lit, bool utf8_data) {
    int64_t size = lit.size;
    bool non_sync = lit.non_sync, binary = lit.binary;
    // `c` is the command up to its first message literal; more messages
    // (MULTIAPPEND) follow each literal on the same line.
    if (state_ == State::not_authenticated) {
        io_.write(fmt::format("{} BAD log in first\r\n", c.tag));
        if (non_sync) state_ = State::logout;
        return;
    }
    std::string tag = c.tag, host = host_name(cfg_);
    auto fail_now = [&](std::string_view kind, std::string_view text, bool pending_literal) {
        io_.write(fmt::format("{} {} {}\r\n", tag, kind, text));
        if (pending_literal && non_sync) { // the message is on its way: cannot go on
            io_.write("* BYE cannot read the rest of this APPEND\r\n");
            state_ = State::logout;
        }
    };
    Command head = c;
    auto name = mailbox_arg(c, head.args[0]);
    if (!name) {
        if (non_sync) state_ = State::logout;
        return;
    }
    bool exists = folder_exists(root_, *name);
    std::string dir = maildir::folder_path(root_, *name);
    struct Staged {
        DurableFile file;
        std::string base, flags, keywords;
        int64_t date;
        uint64_t size;
        CachedFields fields;
    };
    std::vector<Staged> staged;
    uint64_t used = 0;
    if (quota_) {
        auto u = index_->total_size();
        used = u ? static_cast<uint64_t>(*u) : 0;
    }
    std::vector<Value> spec(head.args.begin() + 1, head.args.end());
    for (;;) {
        // [flags] [date-time] before this literal
        std::vector<std::string> given;
        int64_t date = time(nullptr);
        size_t i = 0;
        if (i < spec.size() && spec[i].kind == Value::Kind::list) {
            for (auto& v : spec[i].items) given.push_back(v.text);
            i++;
        }
        if (i < spec.size() && spec[i].kind == Value::Kind::string) {
            date = parse_internal_date(spec[i].text);
            if (date <= 0) return fail_now("BAD", "invalid date-time", true);
            i++;
        }
        if (i != spec.size()) return fail_now("BAD", "APPEND mailbox [(flags)] [date-time] literal", true);
        if (utf8_data && !utf8_) return fail_now("BAD", "APPEND UTF8 (...) needs ENABLE UTF8=ACCEPT", true);
        std::string letters;
        std::vector<std::string> keywords;
        given.erase(std::remove_if(given.begin(), given.end(), [](auto& f) { return iequals(f, "\\Recent"); }), given.end());
        if (!parse_flags(given, letters, keywords)) return fail_now("BAD", "invalid flag", true);
        if (!exists) return fail_now("NO", "[TRYCREATE] no such mailbox", true);
        if (static_cast<uint64_t>(size) > cfg_.delivery.max_message_size)
            return fail_now("NO", fmt::format("[TOOBIG] message larger than {} bytes", cfg_.delivery.max_message_size), true);
        uint64_t pending = 0;
        for (auto& s : staged) pending += s.size;
        if (quota_ && used + pending + static_cast<uint64_t>(size) > quota_)
            return fail_now("NO", "[OVERQUOTA] mailbox full", true);
        std::string base = maildir::unique_name(host, static_cast<size_t>(size));
        auto file = DurableFile::create(dir + "/tmp/" + base);
        if (!file) {
            log::error("imapd.append", file.error());
            return fail_now("NO", "[UNAVAILABLE] temporary problem, try again later", true);
        }
        if (!non_sync) {
            io_.write("+ Ready for literal data\r\n");
            if (!io_.flush()) return void(state_ = State::logout);
        }
        // The literal, CRLF turned into LF as the store keeps it.
        net::set_deadline(idle_timeout);
        uint64_t left = static_cast<uint64_t>(size);
        bool cr = false, write_failed = false;
        // literal8 (BINARY): kept only when the store's LF form gives the
        // same bytes back: no NUL, no bare CR or LF.
        bool lossy = false;
        std::string chunk, head_bytes;
        while (left > 0) {
            if (io_.buffered().empty() && !io_.fill()) return void(state_ = State::logout);
            auto b = io_.buffered();
            size_t n = static_cast<size_t>(std::min<uint64_t>(left, b.size()));
            chunk.clear();
            for (size_t k = 0; k < n; k++) {
                char ch = b[k];
                if (binary) lossy = lossy || ch == 0 || (cr && ch != '\n') || (!cr && ch == '\n');
                if (cr && ch != '\n') chunk += '\r';
                cr = ch == '\r';
                if (!cr) chunk += ch;
            }
            io_.consume(n);
            left -= n;
            if (left == 0 && cr) chunk += '\r', lossy = lossy || binary;
            if (head_bytes.size() < 65536) head_bytes.append(chunk.substr(0, 65536 - head_bytes.size()));
            if (!write_failed) write_failed = !file->write(chunk);
        }
        if (write_failed) return fail_now("NO", "[UNAVAILABLE] temporary problem writing the message", false);
        if (lossy) {
            // The rest of the command is not read: a sync literal after this
            // one is refused by this answer; a non-sync one cannot be skipped.
            std::string rest;
            if (io_.read_line(rest, max_command) != net::Stream::Line::ok) return void(state_ = State::logout);
            non_sync = literal_at_end(rest).non_sync;
            return fail_now("NO", "[UNKNOWN-CTE] binary content (NUL, bare CR or LF) cannot be stored here; "
                                  "send it with a content-transfer-encoding", true);
        }
        file->set_mtime(date);
        Staged s{std::move(*file), "", letters, join_keywords(keywords), date, 0, cache_fields(head_bytes)};
        s.size = s.file.size();
        s.base = maildir::unique_name(host, static_cast<size_t>(s.size));
        staged.push_back(std::move(s));
        // The rest of the line: the end, or another message (MULTIAPPEND).
        std::string rest;
        if (io_.read_line(rest, max_command) != net::Stream::Line::ok) return void(state_ = State::logout);
        if (utf8_data) { // the ")" closing "UTF8 ("
            if (!rest.starts_with(")")) return fail_now("BAD", "APPEND UTF8 (literal8) without its \")\"", false);
            rest.erase(0, 1);
            if (rest.starts_with(" ")) rest.erase(0, 1);
        }
        if (rest.empty()) break;
        LiteralMark next = literal_at_end(rest);
        if (next.size < 0) return fail_now("BAD", "APPEND: a message literal expected", false);
        std::string before = rest.substr(0, next.start);
        utf8_data = strip_utf8_open(before);
        size_t pos = 0;
        auto vals = parse_values(before + "\r\n", pos);
        if (!vals) return fail_now("BAD", vals.error().user, true);
        spec = std::move(*vals);
        size = next.size;
        non_sync = next.non_sync;
        binary = next.binary;
    }
    // Commit point: every message synced and in new/ or cur/, then the
    // directories synced, then the index: only then the OK.
    std::vector<NewFile> files;
    for (auto& s : staged) {
        bool cur = !s.flags.empty() || !s.keywords.empty();
        std::string final_path = dir + (cur ? "/cur/" + maildir::join_name({s.base, s.flags}) : "/new/" + s.base);
        if (Status st = s.file.commit(final_path, false); !st) {
            log::error("imapd.append", st.error());
            return fail_now("NO", "[UNAVAILABLE] temporary problem, try again later", false);
        }
        files.push_back(NewFile{s.base, static_cast<int64_t>(s.size), s.date, s.fields, s.flags, cur ? "cur" : "new", s.keywords});
    }
    for (const char* sub : {"/new", "/cur"})
        if (Status st = fsync_dir(dir + sub); !st) {
            log::error("imapd.append", st.error());
            return fail_now("NO", "[UNAVAILABLE] temporary problem, try again later", false);
        }
    std::vector<int64_t> uids;
    Status indexed = index_->add_delivered(*name, files, &uids);
    if (!indexed) log::warn("imapd.append", "{} (the next scan indexes it)", indexed.error().detail);
    auto f = index_->folder(*name);
    Command done = c;
    done.tag = tag;
    done.name = "APPEND";
    if (indexed && f && std::find(uids.begin(), uids.end(), 0) == uids.end())
        ok(done, fmt::format("[APPENDUID {} {}] APPEND completed", f->uidvalidity, uid_set(uids)));
    else
        ok(done, "APPEND completed");
}

} // namespace mail::imap
