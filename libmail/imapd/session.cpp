#include "session.hpp"

#include <algorithm>
#include <cwctype>
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.hpp"
#include "imap/mutf7.hpp"
#include "imapd/search.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

namespace {

constexpr int bit(int s) { return 1 << s; }
constexpr int any_state = 7, authed = 6, selected_only = 4;

const std::vector<std::pair<std::string, std::string>> special_use = {
    {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"}, {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"}};

// The special uses a folder can be created with (RFC 6154); \All and
// \Flagged would be virtual folders, which the store has not.
const char* const use_attributes[] = {"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"};

bool is_name(const Value& v) { return v.kind != Value::Kind::list; }

// A mod-sequence value (RFC 7162: 0 to 2^63-1); nullopt when malformed.
std::optional<int64_t> mod_sequence(const Value& v) {
    if (v.kind != Value::Kind::atom || v.text.empty() || v.text.size() > 19) return std::nullopt;
    uint64_t n = 0;
    for (char ch : v.text) {
        if (ch < '0' || ch > '9') return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (n > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(n);
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

// IMAP LIST pattern matching: '*' anything, '%' anything but '/'. By
// dynamic programming (pattern x name), so that a pattern of many
// wildcards costs no more than its length times the name's.
bool wildmat(std::string_view pat, std::string_view name) {
    std::vector<char> row(name.size() + 1, 0), next(name.size() + 1);
    row[0] = 1; // the empty pattern matches the empty prefix
    for (char p : pat) {
        std::fill(next.begin(), next.end(), 0);
        for (size_t j = 0; j <= name.size(); j++) {
            if (p == '*' || p == '%') {
                // the wildcard takes nothing, or one more character
                next[j] = row[j] || (j > 0 && next[j - 1] && (p == '*' || name[j - 1] != '/'));
            } else if (j > 0) {
                next[j] = row[j - 1] && name[j - 1] == p;
            }
        }
        row.swap(next);
    }
    return row[name.size()];
}

bool list_match(const std::string& pattern, const std::string& name) {
    // INBOX is case-insensitive, at the start of a pattern too
    if (maildir::is_inbox(name) && pattern.size() >= 5 && maildir::is_inbox(pattern.substr(0, 5)))
        return wildmat("INBOX" + pattern.substr(5), name);
    return wildmat(pattern, name);
}

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

// Unfolded "Name: value" lines of the decoded header text: whether a
// field named `field` contains `needle` (already folded).
bool field_contains(std::string_view hdr, std::string_view field, std::string_view needle) {
    for (size_t i = 0; i < hdr.size();) {
        size_t nl = hdr.find('\n', i);
        if (nl == std::string_view::npos) nl = hdr.size();
        std::string_view line = hdr.substr(i, nl - i);
        i = nl + 1;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || !iequals(line.substr(0, colon), field)) continue;
        if (needle.empty() || fold(line.substr(colon + 1)).find(needle) != std::string::npos) return true;
    }
    return false;
}

} // namespace

const Session::Handler Session::handlers[] = {
    {"CAPABILITY", &Session::cmd_capability, any_state},
    {"NOOP", &Session::cmd_noop, any_state},
    {"LOGOUT", &Session::cmd_logout, any_state},
    {"ID", &Session::cmd_id, any_state},
    {"STARTTLS", &Session::cmd_starttls, bit(0)},
    {"LOGIN", &Session::cmd_login, bit(0)},
    {"AUTHENTICATE", &Session::cmd_authenticate, bit(0)},
    {"ENABLE", &Session::cmd_enable, authed},
    {"NAMESPACE", &Session::cmd_namespace, authed},
    {"SELECT", &Session::cmd_select, authed},
    {"EXAMINE", &Session::cmd_examine, authed},
    {"CREATE", &Session::cmd_create, authed},
    {"DELETE", &Session::cmd_delete, authed},
    {"RENAME", &Session::cmd_rename, authed},
    {"SUBSCRIBE", &Session::cmd_subscribe, authed},
    {"UNSUBSCRIBE", &Session::cmd_unsubscribe, authed},
    {"LIST", &Session::cmd_list, authed},
    {"LSUB", &Session::cmd_lsub, authed},
    {"STATUS", &Session::cmd_status, authed},
    {"APPEND", nullptr, authed}, // read with its literal (read_command)
    {"GETQUOTAROOT", &Session::cmd_getquotaroot, authed},
    {"GETQUOTA", &Session::cmd_getquota, authed},
    {"SETQUOTA", &Session::cmd_setquota, authed},
    {"IDLE", &Session::cmd_idle, authed},
    {"CHECK", &Session::cmd_check, selected_only},
    {"CLOSE", &Session::cmd_close, selected_only},
    {"UNSELECT", &Session::cmd_unselect, selected_only},
    {"EXPUNGE", &Session::cmd_expunge, selected_only},
    {"SEARCH", &Session::cmd_search, selected_only},
    {"SORT", &Session::cmd_sort, selected_only},
    {"FETCH", &Session::cmd_fetch, selected_only},
    {"STORE", &Session::cmd_store, selected_only},
    {"COPY", &Session::cmd_copy, selected_only},
    {"MOVE", &Session::cmd_move, selected_only},
};

Session::Session(const Config& cfg, Directory dir, net::Stream& io, const net::Peer& peer,
                 const net::TlsOptions& tls)
    : cfg_(cfg), dir_(std::move(dir)), io_(io), peer_(peer), tls_options_(tls), penalty_(cfg), tls_(tls) {}

bool Session::secure() const { return io_.tls() || (peer_.loopback && cfg_.smtpd.loopback_is_secure); }

std::string Session::capabilities() const {
    std::string caps = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN SPECIAL-USE "
                       "UIDPLUS MOVE ESEARCH SEARCHRES MULTIAPPEND QUOTA QUOTA=RES-STORAGE CONDSTORE QRESYNC BINARY "
                       "LIST-EXTENDED LIST-STATUS CREATE-SPECIAL-USE STATUS=SIZE SORT UTF8=ACCEPT";
    if (state_ == State::not_authenticated) {
        if (tls_options_.offer && !io_.tls()) caps += " STARTTLS";
        caps += secure() ? " AUTH=PLAIN" : " LOGINDISABLED";
    }
    return caps;
}

void Session::ok(const Command& c, std::string_view text) {
    if (sel_) sync_selected(c.uid || (c.name != "FETCH" && c.name != "STORE" && c.name != "SEARCH" && c.name != "SORT"));
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

void Session::sync_selected(bool allow_expunge) {
    std::string out;
    Selected::Report how{allow_expunge, condstore_, qresync_, true, !rev2_};
    if (Status st = sel_->refresh(*index_, out, how); !st) log::error("imapd.refresh", st.error());
    io_.write(out);
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
    io_.flush();
    return 0;
}

void Session::dispatch(const Command& c) {
    for (const Handler& h : handlers) {
        if (c.name != h.name) continue;
        if (!(h.states & bit(static_cast<int>(state_)))) {
            return bad(c, state_ == State::not_authenticated ? "log in first" : "command not valid in this state");
        }
        if (c.uid && c.name != "FETCH" && c.name != "STORE" && c.name != "SEARCH" && c.name != "COPY" &&
            c.name != "MOVE" && c.name != "EXPUNGE" && c.name != "SORT")
            return bad(c, "UID with an unknown command");
        if (!h.fn) return bad(c, "APPEND needs a message literal");
        return (this->*h.fn)(c);
    }
    bad(c, "unknown command");
}

// ---- reading commands -------------------------------------------------

namespace {

// APPEND's message as "UTF8 (~{n}" (RFC 6855): the text before the literal
// loses its "UTF8 (" (the ")" follows the literal); true when it had one.
bool strip_utf8_open(std::string& before) {
    std::string_view b = before;
    while (b.ends_with(' ')) b.remove_suffix(1);
    if (!b.ends_with("(")) return false;
    b.remove_suffix(1);
    while (b.ends_with(' ')) b.remove_suffix(1);
    if (b.size() < 5 || !iequals(b.substr(b.size() - 4), "UTF8") || b[b.size() - 5] != ' ') return false;
    before.resize(b.size() - 4);
    return true;
}

} // namespace

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
        if (auto* c = std::get_if<Command>(&parsed); c && c->name == "APPEND" && !c->uid && !c->args.empty()) {
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

// ---- any state ----------------------------------------------------------

void Session::cmd_capability(const Command& c) {
    io_.write("* CAPABILITY " + capabilities() + "\r\n");
    ok(c, "CAPABILITY completed");
}

void Session::cmd_noop(const Command& c) { ok(c, "NOOP completed"); }

void Session::cmd_logout(const Command& c) {
    io_.write("* BYE logging out\r\n");
    io_.write(fmt::format("{} OK LOGOUT completed\r\n", c.tag));
    state_ = State::logout;
}

void Session::cmd_id(const Command& c) {
    if (c.args.size() != 1 || (!c.args[0].nil() && c.args[0].kind != Value::Kind::list))
        return bad(c, "ID takes NIL or a list");
    if (c.args[0].kind == Value::Kind::list && c.args[0].items.size() > 60) return bad(c, "ID list too long");
    io_.write("* ID (\"name\" \"facteur\")\r\n");
    ok(c, "ID completed");
}

void Session::cmd_enable(const Command& c) {
    if (c.args.empty()) return bad(c, "ENABLE needs capabilities");
    std::string enabled;
    for (auto& a : c.args) {
        if (a.kind != Value::Kind::atom) return bad(c, "ENABLE takes capability names");
        std::string cap = ascii_upper(a.text);
        bool now = false;
        if (cap == "CONDSTORE") now = !condstore_, condstore_ = true;
        else if (cap == "QRESYNC") now = !qresync_, qresync_ = condstore_ = true;
        else if (cap == "UTF8=ACCEPT") now = !utf8_, utf8_ = true;
        else if (cap == "IMAP4REV2") now = !rev2_, rev2_ = utf8_ = true, cap = "IMAP4rev2";
        if (now) enabled += " " + cap; // others are not ours to enable (RFC 5161)
    }
    io_.write("* ENABLED" + enabled + "\r\n");
    ok(c, "ENABLE completed");
}

void Session::cmd_namespace(const Command& c) {
    io_.write("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
    ok(c, "NAMESPACE completed");
}

// A stored (modified UTF-7) mailbox name as the client sees it: UTF-8 once
// it enabled UTF8=ACCEPT or IMAP4rev2.
std::string Session::shown(const std::string& stored) const {
    if (!utf8_) return stored;
    auto u = mutf7_decode(stored);
    return u ? *u : stored;
}

std::string Session::mailbox_value(const std::string& stored) const { return string_value(shown(stored), utf8_); }

// ---- not authenticated -------------------------------------------------

void Session::cmd_starttls(const Command& c) {
    if (!tls_options_.offer || io_.tls()) return bad(c, "STARTTLS not available");
    if (Status loaded = tls_.load(); !loaded) {
        log::error("imapd.tls", loaded.error());
        return no(c, "[UNAVAILABLE] TLS not available");
    }
    io_.write(fmt::format("{} OK begin TLS negotiation now\r\n", c.tag));
    if (!io_.flush()) return void(state_ = State::logout);
    // start_tls() drops anything the client sent in clear after STARTTLS.
    if (Status st = tls_.start(io_); !st) {
        log::warn("imapd.tls", "{}: {} ({})", peer_.ip, st.error().user, st.error().detail);
        state_ = State::logout;
    }
}

void Session::cmd_login(const Command& c) {
    if (c.args.size() != 2 || !is_name(c.args[0]) || !is_name(c.args[1])) return bad(c, "LOGIN user password");
    if (!secure()) return no(c, "[PRIVACYREQUIRED] LOGIN needs TLS (use STARTTLS)");
    login(c, c.args[0].text, c.args[1].text);
}

void Session::cmd_authenticate(const Command& c) {
    if (c.args.empty() || c.args.size() > 2 || c.args[0].kind != Value::Kind::atom) return bad(c, "AUTHENTICATE mechanism");
    if (!iequals(c.args[0].text, "PLAIN")) return no(c, "[CANNOT] unsupported mechanism");
    if (!secure()) return no(c, "[PRIVACYREQUIRED] authentication needs TLS (use STARTTLS)");
    std::string response = c.args.size() == 2 ? c.args[1].text : "";
    if (c.args.size() == 1) {
        io_.write("+ \r\n");
        if (!io_.flush() || io_.read_line(response, max_command) != net::Stream::Line::ok)
            return void(state_ = State::logout);
        if (response == "*") return bad(c, "authentication cancelled");
    }
    auto decoded = base64_decode(response == "=" ? "" : response);
    auto cred = decoded ? parse_plain(*decoded) : std::nullopt;
    if (!cred || (!cred->authzid.empty() && cred->authzid != cred->user)) return bad(c, "malformed PLAIN response");
    login(c, cred->user, cred->password);
}

void Session::login(const Command& c, const std::string& user, const std::string& password) {
    auto who = check_login(*dir_, user, password);
    if (!who) {
        io_.flush();
        penalty_.wait_after_failure(peer_.ip, user, "imapd.auth");
        return no(c, "[AUTHENTICATIONFAILED] invalid user name or password");
    }
    penalty_.success(*who);
    auto a = parse_address(*who);
    std::string root = mailbox_root(cfg_, *a);
    if (struct stat st; stat((root + "/cur").c_str(), &st) != 0) {
        if (Status made = maildir::create_mailbox(root); !made) return fail(c, made.error());
    }
    auto idx = MailboxIndex::open(root);
    if (!idx) return fail(c, idx.error());
    auto entry = dir_->lookup(*a);
    quota_ = entry && entry->quota ? entry->quota : cfg_.delivery.default_quota;
    dir_.reset();
    penalty_.release();
    index_.emplace(std::move(*idx));
    // Files the scans find are read once: the IMAP cache row comes from the same read.
    cache_new_files(*index_);
    user_ = *who;
    root_ = root;
    state_ = State::authenticated;
    log::info("imapd.login", "{} logged in from {}", user_, peer_.ip);
    ok(c, fmt::format("[CAPABILITY {}] logged in", capabilities()));
}

// ---- mailboxes -----------------------------------------------------------

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
    if (!maildir::valid_folder_name(name) || !mutf7_decode(name) || name.starts_with("/")) {
        no(c, "[CANNOT] invalid mailbox name");
        return std::nullopt;
    }
    return name;
}

namespace {

bool folder_exists(const std::string& root, const std::string& name) {
    struct stat st;
    return stat((maildir::folder_path(root, name) + "/cur").c_str(), &st) == 0;
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
    io_.write("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
    io_.write(fmt::format("* OK [PERMANENTFLAGS ({})] flags\r\n",
                          read_write ? "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*" : ""));
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

namespace {

struct ListEntry {
    std::string name;
    bool exists = true, children = false;
};

// Every folder, and each missing superior of one (a \Noselect name).
std::vector<ListEntry> list_entries(const std::vector<std::string>& folders) {
    std::map<std::string, ListEntry> all;
    for (auto& f : folders) all[f] = {f, true, false};
    for (auto& f : folders)
        for (size_t slash = 0; (slash = f.find('/', slash)) != std::string::npos; slash++) {
            std::string parent = f.substr(0, slash);
            auto [it, fresh] = all.try_emplace(parent, ListEntry{parent, false, false});
            it->second.children = true;
        }
    std::vector<ListEntry> out;
    for (auto& [_, e] : all) out.push_back(e);
    // INBOX first
    std::stable_partition(out.begin(), out.end(), [](auto& e) { return e.name == "INBOX"; });
    return out;
}

// LIST's options (RFC 5258 LIST-EXTENDED, RFC 6154, RFC 5819 LIST-STATUS).
struct ListOptions {
    bool subscribed = false, special_use = false, recursive = false; // selection
    bool ret_subscribed = false;                                      // RETURN
    std::vector<Value> status;                                        // RETURN (STATUS (...))
    std::vector<std::string> patterns;                                // with the reference
};

std::optional<ListOptions> parse_list(const std::vector<Value>& args, std::string& error) {
    ListOptions o;
    size_t i = 0;
    if (!args.empty() && args[0].kind == Value::Kind::list) {
        for (auto& v : args[0].items) {
            if (v.is("SUBSCRIBED")) o.subscribed = o.ret_subscribed = true;
            else if (v.is("SPECIAL-USE")) o.special_use = true;
            else if (v.is("RECURSIVEMATCH")) o.recursive = true;
            else if (v.is("REMOTE")) {} // no remote mailboxes here
            else return error = "unknown LIST selection option", std::nullopt;
        }
        if (o.recursive && !o.subscribed) return error = "RECURSIVEMATCH needs SUBSCRIBED", std::nullopt;
        i = 1;
    }
    if (args.size() < i + 2 || !is_name(args[i])) return error = "LIST [(options)] reference pattern [RETURN (options)]", std::nullopt;
    std::string ref = args[i].text;
    std::vector<std::string> pats;
    if (args[i + 1].kind == Value::Kind::list) {
        if (args[i + 1].items.empty()) return error = "LIST: empty pattern list", std::nullopt;
        for (auto& p : args[i + 1].items) {
            if (!is_name(p)) return error = "LIST patterns are strings", std::nullopt;
            pats.push_back(p.text);
        }
    } else {
        pats.push_back(args[i + 1].text);
    }
    i += 2;
    if (i < args.size()) {
        if (!args[i].is("RETURN") || i + 2 != args.size() || args[i + 1].kind != Value::Kind::list)
            return error = "LIST ... RETURN (options)", std::nullopt;
        auto& r = args[i + 1].items;
        for (size_t k = 0; k < r.size(); k++) {
            if (r[k].is("SUBSCRIBED")) o.ret_subscribed = true;
            else if (r[k].is("CHILDREN") || r[k].is("SPECIAL-USE")) {} // always given
            else if (r[k].is("STATUS") && k + 1 < r.size() && r[k + 1].kind == Value::Kind::list) o.status = r[++k].items;
            else return error = "unknown LIST return option", std::nullopt;
        }
    }
    if (!ref.empty() && ref.back() != '/') ref += "/";
    for (auto& p : pats) o.patterns.push_back(p.starts_with("/") ? p : ref + p);
    return o;
}

} // namespace

Result<std::set<std::string>> Session::subscribed_names(const std::vector<std::string>& folders) {
    auto subs = index_->subscriptions();
    if (!subs) return subs.error();
    // A folder the index has no row for was never unsubscribed: listed.
    std::set<std::string> names(subs->begin(), subs->end());
    for (auto& f : folders) {
        auto row = index_->find_folder(f);
        if (!row) return row.error();
        if (!*row) names.insert(f);
    }
    return names;
}

void Session::cmd_list(const Command& c) {
    std::string error;
    auto o = parse_list(c.args, error);
    if (!o) return bad(c, error);
    if (c.args.size() == 2 && c.args[1].kind != Value::Kind::list && c.args[1].text.empty()) {
        io_.write("* LIST (\\Noselect) \"/\" \"\"\r\n"); // the hierarchy delimiter
        return ok(c, "LIST completed");
    }
    for (auto& item : o->status)
        if (!status_item(item)) return bad(c, "unknown STATUS item " + item.text);
    auto folders = maildir::list_folders(root_);
    if (!folders) return fail(c, folders.error());
    auto subscribed = subscribed_names(*folders);
    if (!subscribed) return fail(c, subscribed.error());
    auto uses = index_->special_uses();
    if (!uses) return fail(c, uses.error());
    struct Box {
        bool exists = false, listed = false, children = false;
        std::string use;
    };
    std::map<std::string, Box> boxes;
    for (auto& e : list_entries(*folders)) boxes[e.name] = {e.exists, true, e.children, ""};
    for (auto& n : *subscribed) // with their superiors, for RECURSIVEMATCH
        for (size_t slash = 0;; slash++) {
            slash = n.find('/', slash);
            boxes[n.substr(0, slash)];
            if (slash == std::string::npos) break;
        }
    for (auto& [folder, flag] : special_use)
        if (boxes.count(folder)) boxes[folder].use = flag;
    for (auto& [folder, flags] : *uses)
        if (boxes.count(folder) && boxes[folder].exists) boxes[folder].use = flags;
    auto matches = [&](const std::string& name) {
        return std::any_of(o->patterns.begin(), o->patterns.end(), [&](auto& p) { return list_match(p, shown(name)); });
    };
    auto selected = [&](const std::string& name, const Box& b) {
        if (o->subscribed && !subscribed->count(name)) return false;
        if (o->special_use && b.use.empty()) return false;
        return o->subscribed || o->special_use || b.listed;
    };
    std::vector<std::string> order;
    for (auto& [name, _] : boxes) order.push_back(name);
    std::stable_partition(order.begin(), order.end(), [](auto& n) { return n == "INBOX"; });
    for (auto& name : order) {
        Box& b = boxes[name];
        if (!matches(name)) continue;
        // RECURSIVEMATCH: a name whose descendant is selected but not matched
        bool child_info = false;
        if (o->recursive)
            for (auto it = boxes.upper_bound(name + "/"); it != boxes.end() && it->first.starts_with(name + "/"); ++it)
                if (selected(it->first, it->second) && !matches(it->first)) child_info = true;
        if (!selected(name, b) && !child_info) continue;
        std::string attrs;
        auto add = [&](std::string_view a) { attrs += (attrs.empty() ? "" : " ") + std::string(a); };
        if (!b.exists) add(b.listed ? "\\Noselect" : "\\NonExistent");
        if (b.listed) add(b.children ? "\\HasChildren" : "\\HasNoChildren");
        if (o->ret_subscribed && subscribed->count(name)) add("\\Subscribed");
        if (!b.use.empty()) add(b.use);
        io_.write(fmt::format("* LIST ({}) \"/\" {}{}\r\n", attrs, mailbox_value(name),
                              child_info ? " (\"CHILDINFO\" (\"SUBSCRIBED\"))" : ""));
        if (!o->status.empty() && b.exists) {
            auto data = status_data(name, o->status);
            if (!data) return fail(c, data.error());
            io_.write(fmt::format("* STATUS {} ({})\r\n", mailbox_value(name), *data));
        }
    }
    ok(c, "LIST completed");
}

void Session::cmd_lsub(const Command& c) {
    if (c.args.size() != 2 || !is_name(c.args[0]) || !is_name(c.args[1])) return bad(c, "LSUB reference pattern");
    std::string ref = c.args[0].text, pat = c.args[1].text;
    if (!ref.empty() && ref.back() != '/') ref += "/";
    std::string full = ref + pat;
    auto folders = maildir::list_folders(root_);
    if (!folders) return fail(c, folders.error());
    auto names = subscribed_names(*folders);
    if (!names) return fail(c, names.error());
    for (auto& n : *names) {
        if (!list_match(full, shown(n))) continue;
        bool exists = std::find(folders->begin(), folders->end(), n) != folders->end();
        io_.write(fmt::format("* LSUB ({}) \"/\" {}\r\n", exists ? "" : "\\Noselect", mailbox_value(n)));
    }
    ok(c, "LSUB completed");
}

bool Session::status_item(const Value& v) {
    static const char* const known[] = {"MESSAGES", "UNSEEN", "RECENT", "UIDNEXT", "UIDVALIDITY",
                                        "HIGHESTMODSEQ", "SIZE", "DELETED"};
    return v.kind == Value::Kind::atom &&
           std::any_of(std::begin(known), std::end(known), [&](const char* k) { return iequals(v.text, k); });
}

// "MESSAGES 3 UNSEEN 1" for the STATUS items asked (checked by status_item).
Result<std::string> Session::status_data(const std::string& name, const std::vector<Value>& items) {
    auto scanned = index_->scan(name, false);
    if (!scanned) return scanned.error();
    auto f = index_->folder(name);
    if (!f) return f.error();
    // SIZE (RFC 8438) must be at least the sum of the RFC822.SIZEs: exact
    // from the IMAP cache, filled here for at most 2 s; for messages still
    // without it, twice the stored size (as if every byte were an LF).
    if (std::any_of(items.begin(), items.end(), [](auto& v) { return iequals(v.text, "SIZE"); }))
        MAIL_TRY(fill_cache(*index_, f->id, maildir::folder_path(root_, name), 2000));
    auto n = index_->counts(f->id);
    if (!n) return n.error();
    std::string out;
    for (auto& item : items) {
        std::string k = ascii_upper(item.text);
        int64_t v = k == "MESSAGES" ? n->messages : k == "UNSEEN" ? n->unseen : k == "RECENT" ? n->recent
                  : k == "DELETED" ? n->deleted : k == "SIZE" ? n->size : k == "UIDNEXT" ? f->uidnext
                  : k == "UIDVALIDITY" ? f->uidvalidity : f->highestmodseq;
        if (k == "HIGHESTMODSEQ") condstore_ = true;
        out += (out.empty() ? "" : " ") + k + " " + std::to_string(v);
    }
    return out;
}

void Session::cmd_status(const Command& c) {
    if (c.args.size() != 2 || c.args[1].kind != Value::Kind::list) return bad(c, "STATUS mailbox (items)");
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    for (auto& item : c.args[1].items)
        if (!status_item(item)) return bad(c, "unknown STATUS item " + item.text);
    if (!folder_exists(root_, *name)) return no(c, "[NONEXISTENT] no such mailbox");
    auto data = status_data(*name, c.args[1].items);
    if (!data) return fail(c, data.error());
    io_.write(fmt::format("* STATUS {} ({})\r\n", mailbox_value(*name), *data));
    ok(c, "STATUS completed");
}

// ---- QUOTA (RFC 9208): one root, "", the whole mailbox ----------------------

void Session::quota_response() {
    if (!quota_) return; // unlimited: no resource is limited
    auto used = index_->total_size();
    uint64_t kb = used ? (static_cast<uint64_t>(*used) + 1023) / 1024 : 0;
    io_.write(fmt::format("* QUOTA \"\" (STORAGE {} {})\r\n", kb, quota_ / 1024));
}

void Session::cmd_getquotaroot(const Command& c) {
    if (c.args.size() != 1) return bad(c, "GETQUOTAROOT mailbox");
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    if (!folder_exists(root_, *name)) return no(c, "[NONEXISTENT] no such mailbox");
    io_.write(fmt::format("* QUOTAROOT {}{}\r\n", mailbox_value(*name), quota_ ? " \"\"" : ""));
    quota_response();
    ok(c, "GETQUOTAROOT completed");
}

void Session::cmd_getquota(const Command& c) {
    if (c.args.size() != 1 || !is_name(c.args[0])) return bad(c, "GETQUOTA root");
    if (!c.args[0].text.empty() || !quota_) return no(c, "[NONEXISTENT] no such quota root");
    quota_response();
    ok(c, "GETQUOTA completed");
}

void Session::cmd_setquota(const Command& c) {
    no(c, "[NOPERM] quotas are set by the administrator (mail-admin mailbox quota)");
}

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

// ---- FETCH ------------------------------------------------------------------

namespace {

bool needs_cache(const FetchItem& i) {
    using K = FetchItem::Kind;
    return i.kind == K::rfc822_size || i.kind == K::envelope || i.kind == K::bodystructure || i.kind == K::body;
}

bool sets_seen(const FetchItem& i) {
    using K = FetchItem::Kind;
    return (i.kind == K::body_section || i.kind == K::binary) ? !i.peek : (i.kind == K::rfc822 || i.kind == K::rfc822_text);
}

} // namespace

void Session::cmd_fetch(const Command& c) {
    if (c.args.size() != 2 && c.args.size() != 3) return bad(c, "FETCH set items [(modifiers)]");
    std::vector<size_t> seqs;
    if (!resolve(c, c.args[0], c.uid, seqs)) return;
    auto items = parse_fetch_items(c.args[1]);
    if (!items) return bad(c, items.error().user);
    auto has = [&](FetchItem::Kind k) { return std::any_of(items->begin(), items->end(), [&](auto& i) { return i.kind == k; }); };
    // Modifiers (RFC 7162): (CHANGEDSINCE modseq [VANISHED])
    std::optional<int64_t> since;
    bool vanished = false;
    if (c.args.size() == 3) {
        auto& mods = c.args[2];
        if (mods.kind != Value::Kind::list) return bad(c, "FETCH modifiers are a list");
        for (size_t i = 0; i < mods.items.size(); i++) {
            if (mods.items[i].is("CHANGEDSINCE") && i + 1 < mods.items.size() && !since) {
                since = mod_sequence(mods.items[++i]);
                if (!since) return bad(c, "CHANGEDSINCE takes a mod-sequence");
            } else if (mods.items[i].is("VANISHED") && !vanished) {
                vanished = true;
            } else {
                return bad(c, "unknown FETCH modifier");
            }
        }
        if (vanished && (!c.uid || !qresync_ || !since))
            return bad(c, "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC");
    }
    if (since || has(FetchItem::Kind::modseq)) condstore_ = true;
    if (c.uid && !has(FetchItem::Kind::uid)) items->insert(items->begin(), FetchItem{FetchItem::Kind::uid, {}, false, std::nullopt});
    if (since && !has(FetchItem::Kind::modseq)) items->push_back(FetchItem{FetchItem::Kind::modseq, {}, false, std::nullopt});
    if (since) {
        if (vanished) { // expunged UIDs of the set since then (RFC 7162 3.2.6)
            auto set = parse_sequence_set(c.args[0].text);
            auto gone = index_->expunged_since(sel_->state.id, *since);
            if (!gone) return fail(c, gone.error());
            std::vector<int64_t> uids;
            auto largest = static_cast<uint32_t>(sel_->state.uidnext - 1);
            for (int64_t u : *gone)
                if (set && !set->saved && set->contains(static_cast<uint32_t>(u), largest)) uids.push_back(u);
            if (!uids.empty()) io_.write("* VANISHED (EARLIER) " + uid_set(uids) + "\r\n");
        }
        std::erase_if(seqs, [&](size_t seq) { return sel_->msgs[seq - 1].modseq <= *since; });
    }
    fetch(c, seqs, *items);
}

void Session::fetch(const Command& c, const std::vector<size_t>& seqs, const std::vector<FetchItem>& items) {
    bool cache = std::any_of(items.begin(), items.end(), needs_cache);
    bool seen = sel_->read_write && std::any_of(items.begin(), items.end(), sets_seen);
    bool flags_item = std::any_of(items.begin(), items.end(), [](auto& i) { return i.kind == FetchItem::Kind::flags; });
    bool modseq_item = std::any_of(items.begin(), items.end(), [](auto& i) { return i.kind == FetchItem::Kind::modseq; });
    std::optional<Transaction> tx; // \Seen for many messages: one commit
    // In batches: the cache of 500 messages at a time, written out as it goes.
    constexpr size_t batch = 500;
    for (size_t from = 0; from < seqs.size(); from += batch) {
        size_t to = std::min(seqs.size(), from + batch);
        std::map<int64_t, CacheRow> rows;
        if (cache) {
            std::vector<const Msg*> ms;
            for (size_t k = from; k < to; k++) ms.push_back(&sel_->msgs[seqs[k] - 1]);
            auto r = cache_rows(*index_, *sel_, ms);
            if (!r) return fail(c, r.error());
            rows = std::move(*r);
        }
        for (size_t k = from; k < to; k++) {
            Msg& m = sel_->msgs[seqs[k] - 1];
            std::string line = fmt::format("* {} FETCH (", seqs[k]);
            size_t start = line.size();
            auto sep = [&] {
                if (line.size() > start) line += ' ';
            };
            const CacheRow* row = nullptr;
            if (cache) {
                auto it = rows.find(m.uid);
                if (it == rows.end()) continue; // its file is gone: expunged elsewhere
                row = &it->second;
            }
            bool add_flags = false;
            if (seen && m.flags.find('S') == std::string::npos && !m.gone) {
                if (!tx) {
                    tx.emplace(index_->transaction());
                    if (Status st = tx->begin(); !st) return fail(c, st.error());
                }
                if (Status st = set_flags(m, maildir::normalize_flags(m.flags + "S"), m.keywords); !st) {
                    if (st.error().code != Errc::noinput) return fail(c, st.error());
                } else {
                    add_flags = !flags_item;
                }
            }
            bool stop = false;
            for (auto& i : items) {
                using K = FetchItem::Kind;
                sep();
                switch (i.kind) {
                case K::uid: line += fmt::format("UID {}", m.uid); break;
                case K::flags: line += "FLAGS " + flag_list(m); break;
                case K::internaldate: line += "INTERNALDATE " + format_internal_date(m.internaldate); break;
                case K::rfc822_size: line += fmt::format("RFC822.SIZE {}", row->size); break;
                case K::envelope: line += "ENVELOPE " + row->envelope; break;
                case K::body: line += "BODY " + row->body; break;
                case K::bodystructure: line += "BODYSTRUCTURE " + row->bodystructure; break;
                case K::modseq: line += fmt::format("MODSEQ ({})", m.modseq); break;
                default:
                    if (!send_body(m, i, line)) stop = true;
                }
                if (stop) break;
            }
            if (stop) continue;
            if (add_flags) sep(), line += "FLAGS " + flag_list(m);
            // CONDSTORE: every FLAGS told goes with its MODSEQ
            if (condstore_ && (add_flags || flags_item) && !modseq_item) sep(), line += fmt::format("MODSEQ ({})", m.modseq);
            io_.write(line + ")\r\n");
        }
        if (tx) {
            if (Status st = tx->commit(); !st) return fail(c, st.error());
            tx.reset();
        }
        if (!io_.flush()) return void(state_ = State::logout);
    }
    if (unknown_cte_) {
        unknown_cte_ = false;
        return no(c, "[UNKNOWN-CTE] a part's content-transfer-encoding is unknown: fetch it with BODY[]");
    }
    ok(c, c.uid ? "UID FETCH completed" : "FETCH completed");
}

// A body item: its name and literal, appended to `line` (or, for large
// texts, written out in pieces). False when the file is gone.
bool Session::send_body(const Msg& m, const FetchItem& item, std::string& line) {
    auto mapped = sel_->map_file(m);
    if (!mapped || !*mapped) return false;
    const MappedFile* map = &**mapped;
    Section s = item.section;
    using K = FetchItem::Kind;
    std::string name = item.name();
    if (item.kind == K::binary || item.kind == K::binary_size) {
        // BINARY (RFC 3516): the part with its transfer encoding undone,
        // decoded in memory (a part is bounded by the message size limit).
        bool unknown = false;
        auto data = binary_text(map->view(), s, unknown);
        if (unknown) return unknown_cte_ = true, false;
        if (item.kind == K::binary_size) return line += fmt::format("{} {}", name, data ? data->size() : 0), true;
        if (!data) return line += name + " NIL", true;
        std::string_view d = *data;
        if (item.partial) d = d.substr(std::min<uint64_t>(item.partial->first, d.size()), item.partial->second);
        bool nul = d.find('\0') != std::string_view::npos;
        line += fmt::format("{} {}{{{}}}\r\n", name, nul ? "~" : "", d.size());
        line += d;
        return true;
    }
    if (item.kind == K::rfc822_header) s.text = "HEADER";
    if (item.kind == K::rfc822_text) s.text = "TEXT";
    std::string storage;
    auto text = section_text(map->view(), s, storage);
    std::string_view t = text ? *text : std::string_view();
    uint64_t total = crlf_size(t);
    uint64_t offset = 0, length = total;
    if (item.partial) {
        offset = std::min(item.partial->first, total);
        length = std::min(item.partial->second, total - offset);
    }
    line += fmt::format("{} {{{}}}\r\n", name, length);
    if (!item.partial && t.size() > (1u << 20)) {
        // A large text: written out piece by piece, never whole in memory.
        io_.write(line);
        line.clear();
        bool cr = false;
        std::string out;
        for (size_t pos = 0; pos < t.size(); pos += 256 * 1024) {
            out.clear();
            append_crlf(t.substr(pos, 256 * 1024), out, cr);
            io_.write(out);
            if (!io_.flush()) return false;
        }
        return true;
    }
    std::string piece;
    line += crlf_slice(t, offset, length, piece);
    return true;
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

// ---- SEARCH ------------------------------------------------------------------------

namespace {

bool uses(const SearchKey& k, SearchKey::Op op) {
    if (k.op == op) return true;
    return std::any_of(k.children.begin(), k.children.end(), [&](auto& ch) { return uses(ch, op); });
}

struct SearchData {
    std::map<const SearchKey*, std::set<int64_t>> text; // header/body/text keys: matching UIDs
    std::map<int64_t, uint64_t> sizes;
    std::map<int64_t, int64_t> sent_days;
};

bool has_flag(const Msg& m, const std::string& f) {
    static const std::pair<const char*, char> system[] = {
        {"\\SEEN", 'S'}, {"\\ANSWERED", 'R'}, {"\\FLAGGED", 'F'}, {"\\DELETED", 'T'}, {"\\DRAFT", 'D'}};
    std::string u = ascii_upper(f);
    for (auto [n, l] : system)
        if (u == n) return m.flags.find(l) != std::string::npos;
    if (u == "\\RECENT") return m.recent;
    auto kw = split_keywords(m.keywords);
    return std::any_of(kw.begin(), kw.end(), [&](auto& k) { return iequals(k, f); });
}

bool eval(const SearchKey& k, const Msg& m, size_t seq, size_t count, const SearchData& d) {
    using O = SearchKey::Op;
    int64_t day = m.internaldate - (m.internaldate % 86400 + 86400) % 86400;
    switch (k.op) {
    case O::all: return true;
    case O::and_:
        return std::all_of(k.children.begin(), k.children.end(), [&](auto& c) { return eval(c, m, seq, count, d); });
    case O::or_: return eval(k.children[0], m, seq, count, d) || eval(k.children[1], m, seq, count, d);
    case O::not_: return !eval(k.children[0], m, seq, count, d);
    case O::flag: return has_flag(m, k.text);
    case O::recent: return m.recent;
    case O::before: return day < k.number;
    case O::on: return day == k.number;
    case O::since: return day >= k.number;
    case O::sent_before:
    case O::sent_on:
    case O::sent_since: {
        auto it = d.sent_days.find(m.uid);
        if (it == d.sent_days.end() || it->second < 0) return false;
        return k.op == O::sent_before ? it->second < k.number : k.op == O::sent_on ? it->second == k.number : it->second >= k.number;
    }
    case O::larger:
    case O::smaller: {
        auto it = d.sizes.find(m.uid);
        if (it == d.sizes.end()) return false;
        return k.op == O::larger ? it->second > static_cast<uint64_t>(k.number) : it->second < static_cast<uint64_t>(k.number);
    }
    case O::header:
    case O::body:
    case O::text: {
        auto it = d.text.find(&k);
        return it != d.text.end() && it->second.count(m.uid);
    }
    case O::sequence: return k.set.contains(static_cast<uint32_t>(seq), static_cast<uint32_t>(count));
    case O::uid: return false; // resolved by the caller (needs the largest UID)
    case O::modseq: return m.modseq >= k.number;
    }
    return false;
}

} // namespace

Result<std::vector<size_t>> Session::search(SearchProgram& p) {
    SearchData d;
    auto& msgs = sel_->msgs;
    // Text keys: the decoded text cached in index.sqlite (FTS5 trigrams);
    // needles shorter than 3 characters are looked for in that text directly.
    std::vector<const SearchKey*> text_keys;
    std::function<void(const SearchKey&)> collect = [&](const SearchKey& k) {
        if (k.op == SearchKey::Op::header || k.op == SearchKey::Op::body || k.op == SearchKey::Op::text) text_keys.push_back(&k);
        for (auto& ch : k.children) collect(ch);
    };
    collect(p.root);
    // At most 2 s filling the text cache per command; messages still
    // without it are searched in their files.
    std::set<int64_t> missing;
    if (!text_keys.empty()) {
        auto m = index_text(*index_, *sel_, 2000);
        if (!m) return m.error();
        missing = std::move(*m);
    }
    auto matches = [](const SearchKey& k, const std::string& needle, std::string_view hdr, std::string_view body) {
        if (k.op == SearchKey::Op::header) return field_contains(hdr, k.field, needle);
        if (k.op == SearchKey::Op::body) return fold(body).find(needle) != std::string::npos;
        return fold(hdr).find(needle) != std::string::npos || fold(body).find(needle) != std::string::npos;
    };
    std::vector<std::string> needles;
    for (const SearchKey* k : text_keys) {
        needles.push_back(fold(k->text));
        TextColumn column = k->op == SearchKey::Op::header ? TextColumn::header
                          : k->op == SearchKey::Op::body ? TextColumn::body : TextColumn::any;
        std::set<int64_t>& found = d.text[k];
        if (auto field = indexed_field(k->field); k->op == SearchKey::Op::header && field) { // FROM, SUBJECT ...: their own column
            auto f = index_->field_search(sel_->state.id, *field, needles.back());
            if (!f) return f.error();
            found = std::move(*f);
            continue;
        }
        // candidates from the trigram index, each verified on its text
        MAIL_TRY(index_->text_rows(sel_->state.id, column, needles.back(),
                           [&](int64_t uid, std::string_view hdr, std::string_view body) {
                               if (matches(*k, needles.back(), hdr, body)) found.insert(uid);
                           }));
    }
    for (int64_t uid : missing) {
        size_t seq = sel_->seq_of(uid);
        if (!seq) continue;
        auto map = sel_->map_file(msgs[seq - 1]);
        if (!map || !*map) continue;
        SearchText t = search_text((*map)->view());
        for (size_t i = 0; i < text_keys.size(); i++)
            if (matches(*text_keys[i], needles[i], t.header, t.body)) d.text[text_keys[i]].insert(uid);
    }
    if (uses(p.root, SearchKey::Op::larger) || uses(p.root, SearchKey::Op::smaller)) {
        std::vector<const Msg*> all;
        for (auto& m : msgs) all.push_back(&m);
        auto rows = cache_rows(*index_, *sel_, all);
        if (!rows) return rows.error();
        for (auto& [uid, r] : *rows) d.sizes[uid] = r.size;
    }
    if (uses(p.root, SearchKey::Op::sent_before) || uses(p.root, SearchKey::Op::sent_on) ||
        uses(p.root, SearchKey::Op::sent_since)) {
        auto dates = index_->cached_dates(sel_->state.id);
        if (!dates) return dates.error();
        for (auto& [uid, date] : *dates) d.sent_days[uid] = header_date_day(date);
    }
    // UID keys: "*" is the largest UID; rewritten as a sequence test on UIDs.
    int64_t largest = msgs.empty() ? 0 : msgs.back().uid;
    std::function<bool(const SearchKey&, const Msg&, size_t)> run = [&](const SearchKey& k, const Msg& m, size_t seq) -> bool {
        using O = SearchKey::Op;
        if (k.op == O::uid) {
            if (k.set.saved) return std::find(saved_.begin(), saved_.end(), m.uid) != saved_.end();
            return k.set.contains(static_cast<uint32_t>(m.uid), static_cast<uint32_t>(largest));
        }
        if (k.op == O::sequence && k.set.saved) return std::find(saved_.begin(), saved_.end(), m.uid) != saved_.end();
        if (k.op == O::and_)
            return std::all_of(k.children.begin(), k.children.end(), [&](auto& ch) { return run(ch, m, seq); });
        if (k.op == O::or_) return run(k.children[0], m, seq) || run(k.children[1], m, seq);
        if (k.op == O::not_) return !run(k.children[0], m, seq);
        return eval(k, m, seq, msgs.size(), d);
    };
    std::vector<size_t> out;
    for (size_t i = 0; i < msgs.size(); i++)
        if (!msgs[i].gone && run(p.root, msgs[i], i + 1)) out.push_back(i + 1);
    return out;
}

void Session::cmd_search(const Command& c) {
    auto p = parse_search(c.args);
    if (!p) { // an unknown charset is NO, not BAD (RFC 3501 6.4.4)
        if (p.error().user.starts_with("[BADCHARSET")) return no(c, p.error().user);
        return bad(c, p.error().user);
    }
    bool modseq = uses(p->root, SearchKey::Op::modseq);
    if (modseq) condstore_ = true;
    if (rev2_) p->esearch = true; // IMAP4rev2 answers ESEARCH only (RFC 9051 6.4.4): RETURN (ALL) by default
    auto found = search(*p);
    if (!found) return fail(c, found.error());
    std::vector<int64_t> values;
    for (size_t seq : *found) values.push_back(c.uid ? sel_->msgs[seq - 1].uid : static_cast<int64_t>(seq));
    bool save = std::find(p->returns.begin(), p->returns.end(), "SAVE") != p->returns.end();
    if (save) {
        saved_.clear();
        for (size_t seq : *found) saved_.push_back(sel_->msgs[seq - 1].uid);
    }
    // With a MODSEQ key, the highest MODSEQ of the messages found (RFC 7162 3.1.5).
    int64_t highest = 0;
    for (size_t seq : *found) highest = std::max(highest, sel_->msgs[seq - 1].modseq);
    std::string modseq_text = modseq && highest ? fmt::format("MODSEQ {}", highest) : "";
    if (!p->esearch) {
        std::string out = "* SEARCH";
        for (int64_t v : values) out += " " + std::to_string(v);
        if (!modseq_text.empty()) out += " (" + modseq_text + ")";
        io_.write(out + "\r\n");
        return ok(c, c.uid ? "UID SEARCH completed" : "SEARCH completed");
    }
    std::vector<std::string> want = p->returns;
    if (want.empty()) want.push_back("ALL");                      // RETURN ()
    if (want.size() == 1 && save) return ok(c, "SEARCH completed"); // RETURN (SAVE): no ESEARCH (RFC 5182)
    std::string out = fmt::format("* ESEARCH (TAG {}){}", string_value(c.tag), c.uid ? " UID" : "");
    for (auto& w : want) {
        if (values.empty() && w != "COUNT") continue;
        if (w == "MIN") out += fmt::format(" MIN {}", values.front());
        else if (w == "MAX") out += fmt::format(" MAX {}", values.back());
        else if (w == "COUNT") out += fmt::format(" COUNT {}", values.size());
        else if (w == "ALL") out += " ALL " + uid_set(values);
    }
    if (!modseq_text.empty()) out += " " + modseq_text;
    io_.write(out + "\r\n");
    ok(c, c.uid ? "UID SEARCH completed" : "SEARCH completed");
}

// ---- SORT (RFC 5256) ------------------------------------------------------------

namespace {

struct SortData {
    size_t seq;
    int64_t arrival, date;
    uint64_t size;
    std::string from, to, cc, subject; // case-folded
};

// The addr-mailbox of the first address of an ENVELOPE address list.
std::string first_mailbox(const Value& list) {
    if (list.kind != Value::Kind::list || list.items.empty()) return {};
    auto& a = list.items[0];
    if (a.kind != Value::Kind::list || a.items.size() < 4 || a.items[2].nil()) return {};
    return fold(a.items[2].text);
}

} // namespace

void Session::cmd_sort(const Command& c) {
    // SORT (criteria) charset search-keys
    if (c.args.size() < 3) return bad(c, "SORT (criteria) charset keys");
    auto keys = parse_sort_criteria(c.args[0]);
    if (!keys) return bad(c, keys.error().user);
    std::vector<Value> search_args{Value{Value::Kind::atom, "CHARSET", {}, false}};
    search_args.insert(search_args.end(), c.args.begin() + 1, c.args.end());
    auto p = parse_search(search_args);
    if (!p) {
        if (p.error().user.starts_with("[BADCHARSET")) return no(c, p.error().user);
        return bad(c, p.error().user);
    }
    if (p->esearch) return bad(c, "SORT takes no RETURN options");
    bool modseq = uses(p->root, SearchKey::Op::modseq);
    if (modseq) condstore_ = true;
    auto found = search(*p);
    if (!found) return fail(c, found.error());
    // Sort keys from the cached ENVELOPE and size, a batch at a time.
    std::vector<SortData> data;
    data.reserve(found->size());
    for (size_t from = 0; from < found->size(); from += 1000) {
        std::vector<const Msg*> ms;
        for (size_t k = from; k < std::min(found->size(), from + 1000); k++) ms.push_back(&sel_->msgs[(*found)[k] - 1]);
        auto rows = cache_rows(*index_, *sel_, ms);
        if (!rows) return fail(c, rows.error());
        for (size_t k = from; k < from + ms.size(); k++) {
            const Msg& m = *ms[k - from];
            SortData d{(*found)[k], m.internaldate, m.internaldate, 0, {}, {}, {}, {}};
            auto it = rows->find(m.uid);
            if (it != rows->end()) {
                d.size = it->second.size;
                size_t pos = 0;
                auto env = parse_values(it->second.envelope + "\r\n", pos);
                if (env && env->size() == 1 && (*env)[0].items.size() >= 7) {
                    auto& e = (*env)[0].items;
                    if (int64_t t = e[0].nil() ? -1 : header_date_time(e[0].text); t >= 0) d.date = t;
                    d.subject = e[1].nil() ? "" : fold(base_subject(e[1].text));
                    d.from = first_mailbox(e[2]), d.to = first_mailbox(e[5]), d.cc = first_mailbox(e[6]);
                }
            }
            data.push_back(std::move(d));
        }
    }
    auto compare = [&](const SortData& a, const SortData& b) {
        for (auto& k : *keys) {
            int r = 0;
            switch (k.by) {
            case SortKey::By::arrival: r = (a.arrival > b.arrival) - (a.arrival < b.arrival); break;
            case SortKey::By::date: r = (a.date > b.date) - (a.date < b.date); break;
            case SortKey::By::size: r = (a.size > b.size) - (a.size < b.size); break;
            case SortKey::By::from: r = a.from.compare(b.from); break;
            case SortKey::By::to: r = a.to.compare(b.to); break;
            case SortKey::By::cc: r = a.cc.compare(b.cc); break;
            case SortKey::By::subject: r = a.subject.compare(b.subject); break;
            }
            if (r != 0) return k.reverse ? r > 0 : r < 0;
        }
        return false; // equal: sequence order (the sort is stable)
    };
    std::stable_sort(data.begin(), data.end(), compare);
    std::string out = "* SORT";
    int64_t highest = 0;
    for (auto& d : data) {
        const Msg& m = sel_->msgs[d.seq - 1];
        out += " " + std::to_string(c.uid ? m.uid : static_cast<int64_t>(d.seq));
        highest = std::max(highest, m.modseq);
    }
    if (modseq && highest) out += fmt::format(" (MODSEQ {})", highest);
    io_.write(out + "\r\n");
    ok(c, c.uid ? "UID SORT completed" : "SORT completed");
}

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

// ---- IDLE ---------------------------------------------------------------------------

void Session::cmd_idle(const Command& c) {
    io_.write("+ idling\r\n");
    if (!io_.flush()) return void(state_ = State::logout);
    Fd watch(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (watch && sel_)
        for (const char* sub : {"/new", "/cur"})
            inotify_add_watch(watch.get(), (sel_->dir + sub).c_str(),
                              IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB);
    malloc_trim(0); // what the commands before freed goes back to the system while we wait
    constexpr int keepalive = 120; // seconds between "* OK still here"
    constexpr int max_idle = 60 * 60;
    net::set_deadline(max_idle + 60);
    time_t start = time(nullptr), last_write = start;
    for (;;) {
        if (sel_) {
            sync_selected(true);
            if (!io_.flush()) return void(state_ = State::logout);
        }
        if (io_.wait_input(0)) break;
        pollfd p[2] = {{io_.input_fd(), POLLIN, 0}, {watch.get(), POLLIN, 0}};
        // Every 2 s at least: changes that touch only the index (another
        // session's keywords) wake no inotify watch.
        int r = ::poll(p, watch ? 2 : 1, 2000);
        if (r < 0 && errno != EINTR) return void(state_ = State::logout);
        if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) break;
        if (r > 0 && watch && (p[1].revents & POLLIN)) {
            char buf[4096];
            while (::read(watch.get(), buf, sizeof buf) > 0) {}
        }
        time_t now = time(nullptr);
        if (now - start > max_idle) {
            io_.write("* BYE idle for an hour\r\n");
            state_ = State::logout;
            return;
        }
        if (now - last_write >= keepalive) {
            io_.write("* OK still here\r\n");
            last_write = now;
        }
    }
    std::string line;
    if (io_.read_line(line, max_command) != net::Stream::Line::ok) return void(state_ = State::logout);
    if (!iequals(line, "DONE")) return bad(c, "IDLE ended without DONE");
    ok(c, "IDLE terminated");
}

} // namespace mail::imap
