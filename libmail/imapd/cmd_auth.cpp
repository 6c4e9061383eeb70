// Commands of any state (CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE)
// and of the not-authenticated state (STARTTLS, LOGIN, AUTHENTICATE).
#include "session.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include "base/confine.hpp"
#include "base/log.hpp"
#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

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

// COMPRESS DEFLATE (RFC 4978): the tagged OK goes out as it is, then
// both directions are raw deflate streams for the rest of the session.
void Session::cmd_compress(const Command& c) {
    if (c.args.size() != 1 || c.args[0].kind != Value::Kind::atom) return bad(c, "COMPRESS DEFLATE");
    if (!c.args[0].is("DEFLATE")) return bad(c, "unknown compression mechanism: only DEFLATE");
    if (io_.deflating()) return no(c, "[COMPRESSIONACTIVE] DEFLATE is active already");
    ok(c, "DEFLATE active");
    if (!io_.flush()) return void(state_ = State::logout);
    if (Status st = io_.start_deflate(); !st) {
        log::error("imapd.compress", st.error());
        state_ = State::logout;
    }
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
    if (!cred) return bad(c, "malformed PLAIN response");
    // Well-formed, but asking to act as someone else (RFC 9051 7.1).
    if (!cred->authzid.empty() && !iequals(cred->authzid, cred->user))
        return no(c, "[AUTHORIZATIONFAILED] cannot log in as another user");
    login(c, cred->user, cred->password);
}

void Session::login(const Command& c, const std::string& user, const std::string& password) {
    auto checked = check_login(cfg_, *dir_, user, password);
    if (!checked) return fail(c, checked.error()); // NO [UNAVAILABLE], no failed-login delay
    const auto& who = *checked;
    if (!who) {
        io_.flush();
        penalty_.wait_after_failure(peer_.ip, user, "imapd.auth");
        return no(c, "[AUTHENTICATIONFAILED] invalid user name or password");
    }
    penalty_.success(*who);
    Db* auth = penalty_.database();
    if (!auth) return fail(c, make_error(Errc::tempfail, "database unavailable", "auth.sqlite"));
    auto slot = take_session_slot(*auth, *who, peer_.ip, cfg_.imapd.max_userip);
    if (!slot) return fail(c, slot.error());
    if (!*slot) {
        log::info("imapd.limit", "{} from {}: {} sessions already (imapd.max_userip)", *who, peer_.ip, cfg_.imapd.max_userip);
        return no(c, "[LIMIT] too many sessions of this user from this address");
    }
    auto a = parse_address(*who);
    std::string root = mailbox_root(cfg_, *a);
    switch (maildir::folder_kind(root)) {
    case maildir::FolderKind::real: break;
    case maildir::FolderKind::missing:
        if (Status made = maildir::create_mailbox(root); !made) return fail(c, made.error());
        break;
    case maildir::FolderKind::refused: return fail(c, make_error(Errc::tempfail, "mailbox unavailable", root + ": a link"));
    }
    auto idx = MailboxIndex::open(root);
    if (!idx) return fail(c, idx.error());
    auto entry = dir_->lookup(*a);
    quota_ = entry && entry->quota ? entry->quota : cfg_.delivery.default_quota;
    dir_.reset();
    penalty_.release();
    // One mailbox from now on (base/confine.hpp).
    if (auto confined = confine_to(root); !confined) return fail(c, confined.error());
    index_.emplace(std::move(*idx));
    // Files the scans find are read once: the IMAP cache row comes from the same read.
    cache_new_files(*index_);
    user_ = *who;
    root_ = root;
    state_ = State::authenticated;
    log::info("imapd.login", "{} logged in from {}", user_, peer_.ip);
    ok(c, fmt::format("[CAPABILITY {}] logged in", capabilities()));
}

} // namespace mail::imap
