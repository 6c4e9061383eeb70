#include "session.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "base/log.hpp"
#include "imap/mutf7.hpp"
#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

// The command table: name, handler, the states it is valid in, flags.
namespace {
using S = Session::State;
constexpr Session::States any_state{S::not_authenticated, S::authenticated, S::selected};
constexpr Session::States not_authenticated{S::not_authenticated};
constexpr Session::States authenticated{S::authenticated, S::selected};
constexpr Session::States selected{S::selected};
} // namespace

const Session::CommandSpec Session::commands[] = {
    {"CAPABILITY", &Session::cmd_capability, any_state, 0},
    {"NOOP", &Session::cmd_noop, any_state, polls},
    {"LOGOUT", &Session::cmd_logout, any_state, 0},
    {"ID", &Session::cmd_id, any_state, 0},
    {"STARTTLS", &Session::cmd_starttls, not_authenticated, 0},
    {"LOGIN", &Session::cmd_login, not_authenticated, 0},
    {"AUTHENTICATE", &Session::cmd_authenticate, not_authenticated, 0},
    {"ENABLE", &Session::cmd_enable, authenticated, 0},
    {"NAMESPACE", &Session::cmd_namespace, authenticated, 0},
    {"COMPRESS", &Session::cmd_compress, authenticated, 0},
    {"GETMETADATA", &Session::cmd_getmetadata, authenticated, 0},
    {"SETMETADATA", &Session::cmd_setmetadata, authenticated, 0},
    {"SELECT", &Session::cmd_select, authenticated, 0},
    {"EXAMINE", &Session::cmd_examine, authenticated, 0},
    {"CREATE", &Session::cmd_create, authenticated, 0},
    {"DELETE", &Session::cmd_delete, authenticated, 0},
    {"RENAME", &Session::cmd_rename, authenticated, 0},
    {"SUBSCRIBE", &Session::cmd_subscribe, authenticated, 0},
    {"UNSUBSCRIBE", &Session::cmd_unsubscribe, authenticated, 0},
    {"LIST", &Session::cmd_list, authenticated, 0},
    {"LSUB", &Session::cmd_lsub, authenticated, 0},
    {"STATUS", &Session::cmd_status, authenticated, 0},
    {"APPEND", nullptr, authenticated, reads_message},
    {"GETQUOTAROOT", &Session::cmd_getquotaroot, authenticated, 0},
    {"GETQUOTA", &Session::cmd_getquota, authenticated, 0},
    {"SETQUOTA", &Session::cmd_setquota, authenticated, 0},
    {"IDLE", &Session::cmd_idle, authenticated, 0},
    {"CHECK", &Session::cmd_check, selected, polls},
    {"CLOSE", &Session::cmd_close, selected, 0},
    {"UNSELECT", &Session::cmd_unselect, selected, 0},
    {"EXPUNGE", &Session::cmd_expunge, selected, takes_uid},
    {"SEARCH", &Session::cmd_search, selected, takes_uid | keeps_numbers},
    {"SORT", &Session::cmd_sort, selected, takes_uid | keeps_numbers},
    {"CANCELUPDATE", &Session::cmd_cancelupdate, selected, 0},
    {"THREAD", &Session::cmd_thread, selected, takes_uid | keeps_numbers},
    {"FETCH", &Session::cmd_fetch, selected, takes_uid | keeps_numbers},
    {"STORE", &Session::cmd_store, selected, takes_uid | keeps_numbers},
    {"COPY", &Session::cmd_copy, selected, takes_uid},
    {"MOVE", &Session::cmd_move, selected, takes_uid},
};

Session::Session(const Config& cfg, Directory dir, net::Stream& io, const net::Peer& peer,
                 const net::TlsOptions& tls)
    : cfg_(cfg), dir_(std::move(dir)), io_(io), peer_(peer), tls_options_(tls), penalty_(cfg), tls_(tls) {}

bool Session::secure() const { return io_.tls() || (peer_.loopback && cfg_.smtpd.loopback_is_secure); }

std::string Session::capabilities() const {
    std::string caps = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN SPECIAL-USE "
                       "UIDPLUS MOVE ESEARCH SEARCHRES MULTIAPPEND QUOTA QUOTA=RES-STORAGE CONDSTORE QRESYNC BINARY "
                       "COMPRESS=DEFLATE METADATA LIST-EXTENDED LIST-STATUS CREATE-SPECIAL-USE STATUS=SIZE SORT SORT=DISPLAY ESORT CONTEXT=SEARCH CONTEXT=SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES "
                       "UTF8=ACCEPT";
    if (state_ == State::not_authenticated) {
        if (tls_options_.offer && !io_.tls()) caps += " STARTTLS";
        caps += secure() ? " AUTH=PLAIN" : " LOGINDISABLED";
    }
    return caps;
}

void Session::enable_condstore() {
    if (condstore_) return;
    condstore_ = true;
    if (sel_) io_.write(fmt::format("* OK [HIGHESTMODSEQ {}] modification sequences kept\r\n", sel_->state.highestmodseq));
}

void Session::ok(const Command& c, std::string_view text) {
    if (sel_) {
        const CommandSpec* spec = find_command(c.name);
        sync_selected(c.uid || !spec || !(spec->flags & keeps_numbers), spec && (spec->flags & polls));
    }
    io_.write(fmt::format("{} OK {}\r\n", c.tag, text));
}

void Session::no(const Command& c, std::string_view text) { io_.write(fmt::format("{} NO {}\r\n", c.tag, text)); }

void Session::bad(const Command& c, std::string_view text) {
    io_.write(fmt::format("{} BAD {}\r\n", c.tag, text));
    if (++errors_ >= max_bad_commands) {
        io_.write("* BYE too many bad commands\r\n");
        state_ = State::logout;
    }
}

void Session::fail(const Command& c, const Error& e) {
    log::error("imapd", e);
    no(c, e.code == Errc::noinput ? "[EXPUNGEISSUED] message expunged" : "[UNAVAILABLE] temporary problem, try again later");
}

void Session::sync_selected(bool allow_expunge, bool poll) {
    std::string out;
    bool scan = poll || time(nullptr) - sel_->scanned_at >= full_scan_interval;
    Selected::Report how{allow_expunge, condstore_, qresync_, scan, !rev2_};
    if (Status st = sel_->refresh(*index_, out, how); !st) log::error("imapd.refresh", st.error());
    io_.write(out);
    update_contexts();
}

int Session::run() {
    if (tls_options_.implicit) {
        if (Status st = tls_.start(io_); !st) {
            log::warn("imapd.tls", "{}: {} ({})", peer_.ip, st.error().user, st.error().detail);
            return 0;
        }
    }
    io_.write(fmt::format("* OK [CAPABILITY {}] facteur IMAP ready\r\n", capabilities()));
    std::string wire;
    while (state_ != State::logout && io_.flush()) {
        net::set_deadline(state_ == State::not_authenticated ? login_timeout : idle_timeout);
        if (!read_command(wire)) break;
        if (wire.empty()) continue; // answered while reading
        auto parsed = parse_command(wire);
        if (auto* e = std::get_if<CommandError>(&parsed)) {
            io_.write(fmt::format("{} BAD {}\r\n", e->tag.empty() ? "*" : e->tag, e->text));
            if (++errors_ >= max_bad_commands) {
                io_.write("* BYE too many bad commands\r\n");
                break;
            }
            continue;
        }
        dispatch(std::get<Command>(parsed));
    }
    io_.finish();
    return 0;
}

const Session::CommandSpec* Session::find_command(std::string_view name) {
    for (const CommandSpec& spec : commands)
        if (name == spec.name) return &spec;
    return nullptr;
}

void Session::dispatch(const Command& c) {
    const CommandSpec* spec = find_command(c.name);
    if (!spec) return bad(c, "unknown command");
    if (!spec->states.has(state_))
        return bad(c, state_ == State::not_authenticated ? "log in first" : "command not valid in this state");
    if (c.uid && !(spec->flags & takes_uid)) return bad(c, "UID with an unknown command");
    if (spec->flags & reads_message) return bad(c, "APPEND needs a message literal");
    (this->*spec->handler)(c);
}

// ---- reading commands -------------------------------------------------

bool Session::read_literal(std::string& wire, uint64_t size) {
    while (size > 0) {
        if (io_.buffered().empty() && !io_.fill()) return false;
        auto b = io_.buffered();
        size_t n = static_cast<size_t>(std::min<uint64_t>(size, b.size()));
        wire.append(b.substr(0, n));
        io_.consume(n);
        size -= n;
    }
    return true;
}

bool Session::read_command(std::string& wire) {
    wire.clear();
    std::string line;
    for (;;) {
        auto r = io_.read_line(line, max_command);
        if (r == net::Stream::Line::eof) return false;
        if (r == net::Stream::Line::too_long || wire.size() + line.size() > max_command) {
            io_.write("* BAD [TOOBIG] command line too long\r\n");
            wire.clear();
            return ++errors_ < max_bad_commands;
        }
        wire += line;
        wire += "\r\n";
        LiteralMark lit = literal_at_end(line);
        if (lit.size < 0) return true;
        // Is this literal an APPEND's message? (The mailbox name may be a
        // literal too: then there is no argument yet.)
        std::string head = wire.substr(0, wire.size() - 2 - (line.size() - lit.start));
        bool utf8_data = strip_utf8_open(head);
        auto parsed = parse_command(head + "\r\n");
        if (auto* c = std::get_if<Command>(&parsed); c && !c->uid && !c->args.empty() && find_command(c->name) &&
                                                      (find_command(c->name)->flags & reads_message)) {
            append_message(*c, lit, utf8_data);
            wire.clear();
            return state_ != State::logout;
        }
        if (wire.size() + static_cast<uint64_t>(lit.size) > max_command) {
            std::string tag = wire.substr(0, wire.find(' '));
            if (lit.non_sync) { // its bytes are on their way: no way to find the next command
                io_.write(fmt::format("{} BAD [TOOBIG] literal too large\r\n* BYE literal too large\r\n", tag));
                state_ = State::logout;
                wire.clear();
                return false;
            }
            io_.write(fmt::format("{} BAD [TOOBIG] literal too large (at most {} bytes)\r\n", tag, max_command));
            wire.clear();
            return ++errors_ < max_bad_commands;
        }
        if (!lit.non_sync) {
            io_.write("+ Ready for literal data\r\n");
            if (!io_.flush()) return false;
        }
        if (!read_literal(wire, static_cast<uint64_t>(lit.size))) return false;
    }
}

// ---- arguments -----------------------------------------------------------

std::optional<std::string> Session::mailbox_arg(const Command& c, const Value& v) {
    if (!is_name(v)) {
        bad(c, "mailbox name expected");
        return std::nullopt;
    }
    std::string name = v.text;
    if (maildir::is_inbox(name)) return std::string("INBOX");
    if (utf8_) { // UTF-8 from the client; stored in modified UTF-7 as before
        auto m = mutf7_encode(name);
        if (!m) {
            no(c, "[CANNOT] mailbox name is not UTF-8");
            return std::nullopt;
        }
        name = *m;
    }
    while (!name.empty() && name.back() == '/') name.pop_back(); // "Work/" names "Work"
    // INBOX is one name in any case, also as a parent: "Inbox/sub" is INBOX's child.
    if (maildir::is_inbox(name)) return std::string("INBOX");
    if (name.size() > 6 && name[5] == '/' && maildir::is_inbox(std::string_view(name).substr(0, 5)))
        name.replace(0, 5, "INBOX");
    if (!maildir::valid_folder_name(name) || !mutf7_decode(name) || name.starts_with("/")) {
        no(c, "[CANNOT] invalid mailbox name");
        return std::nullopt;
    }
    return name;
}

// A stored (modified UTF-7) mailbox name as the client sees it: UTF-8 once
// it enabled UTF8=ACCEPT or IMAP4rev2.
std::string Session::shown(const std::string& stored) const {
    if (!utf8_) return stored;
    auto u = mutf7_decode(stored);
    return u ? *u : stored;
}

std::string Session::mailbox_value(const std::string& stored) const { return string_value(shown(stored), utf8_); }

bool Session::resolve(const Command& c, const Value& v, bool uid, std::vector<size_t>& seqs) {
    seqs.clear();
    auto set = v.kind == Value::Kind::atom ? parse_sequence_set(v.text) : Result<SequenceSet>(make_error(Errc::data, "x"));
    if (!set) {
        bad(c, "invalid sequence set");
        return false;
    }
    auto& msgs = sel_->msgs;
    if (set->saved) {
        for (int64_t u : saved_)
            if (size_t s = sel_->seq_of(u)) seqs.push_back(s);
        return true;
    }
    if (!uid && msgs.empty()) {
        bad(c, "no messages"); // RFC 9051: a sequence number with no messages is an error
        return false;
    }
    for (auto [a, b] : set->ranges) {
        if (uid) {
            int64_t last = msgs.empty() ? 0 : msgs.back().uid;
            int64_t lo = a ? a : last, hi = b ? b : last;
            if (lo > hi) std::swap(lo, hi);
            auto it = std::lower_bound(msgs.begin(), msgs.end(), lo, [](const Msg& m, int64_t u) { return m.uid < u; });
            for (; it != msgs.end() && it->uid <= hi; ++it) seqs.push_back(static_cast<size_t>(it - msgs.begin()) + 1);
        } else {
            size_t lo = a ? a : msgs.size(), hi = b ? b : msgs.size();
            if (lo > hi) std::swap(lo, hi);
            if (lo == 0 || hi > msgs.size()) {
                bad(c, "sequence number out of range");
                return false;
            }
            for (size_t s = lo; s <= hi; s++) seqs.push_back(s);
        }
    }
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    return true;
}

} // namespace mail::imap
