#include "session.hpp"

#include "auth/sasl.hpp"
#include "base/log.hpp"
#include "message/header.hpp"
#include "smtp/command.hpp"
#include "smtpd/writer.hpp"

namespace mail::smtp {

const Session::Handler Session::handlers[] = {
    {"HELO", &Session::cmd_helo},         {"EHLO", &Session::cmd_ehlo},
    {"MAIL", &Session::cmd_mail},         {"RCPT", &Session::cmd_rcpt},
    {"DATA", &Session::cmd_data},         {"BDAT", &Session::cmd_bdat},
    {"RSET", &Session::cmd_rset},         {"NOOP", &Session::cmd_noop},
    {"QUIT", &Session::cmd_quit},         {"VRFY", &Session::cmd_vrfy},
    {"EXPN", &Session::cmd_expn},         {"HELP", &Session::cmd_help},
    {"STARTTLS", &Session::cmd_starttls}, {"AUTH", &Session::cmd_auth},
};

Session::Session(const Config& cfg, Directory& dir, const queue::Spool& spool, net::Stream& io,
                 const net::Peer& peer, const SessionOptions& opt)
    : cfg_(cfg), dir_(dir), spool_(spool), io_(io), peer_(peer), opt_(opt), penalty_(cfg),
      tls_ctx_(opt.tls) {}

Session::~Session() = default;

void Session::reply(int code, std::string_view dsn, std::string_view text) {
    // Text may quote the client (an address, a verb): never a NUL, CR, LF
    // or other control byte of its back on the wire.
    std::string clean(text);
    for (auto& ch : clean)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
    if (dsn.empty()) io_.write(fmt::format("{} {}\r\n", code, clean)); // SASL challenges
    else io_.write(fmt::format("{} {} {}\r\n", code, dsn, clean));
}

void Session::bad(int code, std::string_view dsn, std::string_view text) {
    reply(code, dsn, text);
    if (++errors_ >= cfg_.smtpd.max_bad_commands) {
        reply(421, "4.7.0", "too many errors, closing connection");
        state_ = State::quit;
    }
}

bool Session::secure() const {
    return io_.tls() || (peer_.loopback && cfg_.smtpd.loopback_is_secure);
}

bool Session::auth_offered() const { return opt_.role == Role::submission && secure(); }

void Session::reset_transaction() {
    if (state_ == State::mail) state_ = State::ready;
    env_ = queue::Envelope{};
    writer_.reset();
    refused_.reset();
    crlf_ = CrlfFilter{};
    bdat_size_ = 0;
    checked_.reset();
}

Status Session::start_tls() {
    Status st = tls_ctx_.start(io_);
    if (!st) log::warn("smtpd.tls", "{}: {} ({})", peer_.ip, st.error().user, st.error().detail);
    return st;
}

bool Session::greet() {
    // Every connection counts, also one that ends at once or never
    // finishes its TLS handshake; over the limit, implicit TLS is just closed.
    bool limited = rate_limited(client_keys("conn", peer_.ip, cfg_.ratelimit.connections), 60);
    if (limited && opt_.tls.implicit) return false;
    if (opt_.tls.implicit) {
        if (Status st = start_tls(); !st) return false;
    }
    if (limited) {
        reply(421, "4.7.0", "too many connections from your network, try again later");
        io_.flush();
        return false;
    }
    // A client that talks before the greeting is not a mail client.
    if (io_.input_pending()) {
        reply(554, "5.5.0", "you talked before the greeting; goodbye");
        io_.flush();
        log::warn("smtpd.pregreet", "{}: client talked before the greeting", peer_.ip);
        return false;
    }
    reply(220, "2.0.0", host_name(cfg_) + " ESMTP facteur");
    return io_.flush();
}

bool Session::dispatch(const std::string& line) {
    Command c = parse_command(line);
    for (const Handler& h : handlers) {
        if (c.verb != h.verb) continue;
        (this->*h.fn)(c.arg);
        return true;
    }
    bad(500, "5.5.2", "unknown command");
    return false;
}

constexpr int after_store_pause_ms = 100;

int Session::run() {
    if (!greet()) return 0;
    std::string line;
    while (state_ != State::quit) {
        // Messages delivered at once have their indexes updated together:
        // after ten (before the next answer, so that busy clients wait
        // for it), once the client pauses, or once the process is idle
        // (net/listen.hpp).
        if (opt_.local && opt_.local->pending() && !io_.wait_input(after_store_pause_ms)) opt_.local->finish();
        net::set_deadline(static_cast<unsigned>(cfg_.smtpd.command_timeout));
        auto r = io_.read_line(line, max_command_line);
        if (r == net::Stream::Line::eof) break;
        if (r == net::Stream::Line::too_long) bad(500, "5.5.2", "line too long");
        else {
            dispatch(line);
            // Without PIPELINING (HELO, or before EHLO) each command waits
            // for its reply; more input already here is a broken client.
            if (state_ != State::quit && !esmtp_ && !io_.buffered().empty()) {
                reply(554, "5.5.0", "pipelining not allowed without EHLO");
                state_ = State::quit;
            }
        }
        if (!io_.flush()) break;
    }
    io_.flush();
    return 0;
}

void Session::cmd_helo(const std::string& arg) {
    if (arg.empty()) return bad(501, "5.5.4", "HELO needs a host name");
    reset_transaction();
    helo_ = single_line(arg.substr(0, 255)); // it goes into Received: and the envelope
    state_ = State::ready;
    esmtp_ = false;
    reply(250, "2.0.0", host_name(cfg_));
}

void Session::cmd_ehlo(const std::string& arg) {
    if (arg.empty()) return bad(501, "5.5.4", "EHLO needs a host name");
    reset_transaction();
    helo_ = single_line(arg.substr(0, 255)); // it goes into Received: and the envelope
    state_ = State::ready;
    esmtp_ = true;
    std::vector<std::string> ext = {host_name(cfg_),
                                    "PIPELINING",
                                    fmt::format("SIZE {}", cfg_.delivery.max_message_size),
                                    "8BITMIME",
                                    "SMTPUTF8",
                                    "ENHANCEDSTATUSCODES",
                                    "CHUNKING",
                                    "DSN"};
    if (opt_.tls.offer && !io_.tls()) ext.push_back("STARTTLS");
    if (auth_offered() && !user_) ext.push_back("AUTH PLAIN LOGIN");
    for (size_t i = 0; i < ext.size(); i++)
        io_.write(fmt::format("250{}{}\r\n", i + 1 < ext.size() ? "-" : " ", ext[i]));
}

void Session::cmd_noop(const std::string&) { reply(250, "2.0.0", "OK"); }

void Session::cmd_rset(const std::string&) {
    reset_transaction();
    reply(250, "2.0.0", "OK");
}

void Session::cmd_quit(const std::string&) {
    reply(221, "2.0.0", "bye");
    state_ = State::quit;
}

void Session::cmd_vrfy(const std::string&) {
    reply(252, "2.5.0", "cannot verify; send mail and we will try to deliver it");
}

void Session::cmd_expn(const std::string&) { bad(502, "5.5.1", "EXPN is not available"); }

void Session::cmd_help(const std::string&) {
    reply(214, "2.0.0", "see RFC 5321; commands: EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT");
}

void Session::cmd_starttls(const std::string& arg) {
    if (!opt_.tls.offer || io_.tls()) return bad(502, "5.5.1", "STARTTLS not available");
    if (!arg.empty()) return bad(501, "5.5.4", "STARTTLS takes no argument");
    if (Status loaded = tls_ctx_.load(); !loaded) {
        log::error("smtpd.tls", loaded.error());
        return reply(454, "4.7.0", "TLS not available due to temporary reason");
    }
    reply(220, "2.0.0", "ready to start TLS");
    if (!io_.flush()) {
        state_ = State::quit;
        return;
    }
    // start_tls() drops anything the client sent after STARTTLS in clear.
    if (Status st = start_tls(); !st) {
        state_ = State::quit;
        return;
    }
    // RFC 3207 4.2: forget everything learnt before TLS.
    reset_transaction();
    state_ = State::greeting;
    helo_.clear();
    esmtp_ = false;
    user_.reset();
}

std::optional<std::string> Session::auth_response() {
    if (!io_.flush()) return std::nullopt;
    std::string line;
    if (io_.read_line(line, max_command_line) != net::Stream::Line::ok || line == "*")
        return std::nullopt;
    return line;
}

void Session::cmd_auth(const std::string& arg) {
    if (opt_.role != Role::submission) return bad(502, "5.5.1", "AUTH not available here");
    if (!secure()) return bad(538, "5.7.11", "encryption required: use STARTTLS first");
    if (user_) return bad(503, "5.5.1", "already authenticated");
    if (state_ == State::mail) return bad(503, "5.5.1", "AUTH not allowed during a mail transaction");
    Command c = parse_command(arg);
    std::string initial = c.arg;
    if (c.verb == "PLAIN") {
        if (initial.empty()) {
            reply(334, "", "");
            auto r = auth_response();
            if (!r) return bad(501, "5.7.0", "authentication cancelled");
            initial = *r;
        }
        auto decoded = base64_decode(initial);
        auto cred = decoded ? parse_plain(*decoded) : std::nullopt;
        if (!cred) return bad(501, "5.5.2", "malformed AUTH PLAIN response");
        return auth_finish(cred->user, cred->password, cred->authzid);
    }
    if (c.verb == "LOGIN") {
        std::optional<std::string> user = initial.empty() ? std::nullopt : base64_decode(initial);
        if (initial.empty()) {
            reply(334, "", base64_encode("Username:"));
            auto r = auth_response();
            if (!r) return bad(501, "5.7.0", "authentication cancelled");
            user = base64_decode(*r);
        }
        if (!user) return bad(501, "5.5.2", "malformed AUTH LOGIN response");
        reply(334, "", base64_encode("Password:"));
        auto r = auth_response();
        if (!r) return bad(501, "5.7.0", "authentication cancelled");
        auto password = base64_decode(*r);
        if (!password) return bad(501, "5.5.2", "malformed AUTH LOGIN response");
        return auth_finish(*user, *password, "");
    }
    bad(504, "5.5.4", "unrecognized authentication mechanism");
}

void Session::auth_finish(const std::string& user, const std::string& password,
                          const std::string& authzid) {
    auto checked = check_login(cfg_, dir_, user, password);
    if (!checked) {
        log::error("smtpd.auth", checked.error());
        return reply(454, "4.7.0", "temporary authentication failure, try again later");
    }
    const auto& who = *checked;
    if (who && (authzid.empty() || iequals(authzid, user) || iequals(authzid, *who))) {
        penalty_.success(*who);
        user_ = *who;
        log::info("smtpd.auth", "{} authenticated as {}", peer_.ip, *who);
        return reply(235, "2.7.0", "authentication successful");
    }
    io_.flush();
    penalty_.wait_after_failure(peer_.ip, user, "smtpd.auth");
    bad(535, "5.7.8", "authentication credentials invalid");
}

} // namespace mail::smtp
