#include "session.hpp"

#include <charconv>
#include <fcntl.h>
#include <unistd.h>

#include "base/confine.hpp"
#include "base/log.hpp"
#include "pop3/command.hpp"
#include "store/maildir.hpp"

namespace mail::pop3 {

const Session::Handler Session::handlers[] = {
    {"CAPA", &Session::cmd_capa, true, true},  {"STLS", &Session::cmd_stls, true, false},
    {"USER", &Session::cmd_user, true, false}, {"PASS", &Session::cmd_pass, true, false},
    {"AUTH", &Session::cmd_auth, true, false}, {"QUIT", &Session::cmd_quit, true, true},
    {"STAT", &Session::cmd_stat, false, true}, {"LIST", &Session::cmd_list, false, true},
    {"UIDL", &Session::cmd_uidl, false, true}, {"RETR", &Session::cmd_retr, false, true},
    {"TOP", &Session::cmd_top, false, true},   {"DELE", &Session::cmd_dele, false, true},
    {"NOOP", &Session::cmd_noop, false, true}, {"RSET", &Session::cmd_rset, false, true},
};

Session::Session(const Config& cfg, Directory& dir, net::Stream& io, const net::Peer& peer,
                 const net::TlsOptions& tls)
    : cfg_(cfg), dir_(dir), io_(io), peer_(peer), tls_options_(tls), penalty_(cfg), tls_(tls) {}

void Session::ok(std::string_view text) { io_.write(fmt::format("+OK {}\r\n", text)); }

void Session::err(std::string_view text) {
    io_.write(fmt::format("-ERR {}\r\n", text));
    if (++errors_ >= max_bad_commands) quit_ = true;
}

bool Session::secure() const {
    return io_.tls() || (peer_.loopback && cfg_.smtpd.loopback_is_secure);
}

int Session::run() {
    if (tls_options_.implicit) {
        if (Status st = tls_.start(io_); !st) {
            log::warn("pop3d.tls", "{}: {} ({})", peer_.ip, st.error().user, st.error().detail);
            return 0;
        }
    }
    ok("facteur POP3 ready");
    std::string line;
    while (!quit_ && io_.flush()) {
        net::set_deadline(session_timeout);
        auto r = io_.read_line(line, max_command_line);
        if (r == net::Stream::Line::eof) break; // no QUIT: nothing is deleted
        if (r == net::Stream::Line::too_long) {
            err("line too long");
            continue;
        }
        Command c = parse_command(line);
        const Handler* h = nullptr;
        for (const Handler& x : handlers)
            if (c.keyword == x.verb) h = &x;
        if (!h) err("unknown command");
        else if (state_ == State::authorization ? !h->in_authorization : !h->in_transaction)
            err("command not valid in this state");
        else (this->*h->fn)(c.arg);
    }
    io_.flush();
    return 0;
}

void Session::cmd_capa(const std::string&) {
    ok("capability list follows");
    std::string caps = "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    if (state_ == State::authorization) {
        if (secure()) caps += "USER\r\nSASL PLAIN\r\n";
        if (tls_options_.offer && !io_.tls()) caps += "STLS\r\n";
    }
    io_.write(caps + "IMPLEMENTATION facteur\r\n.\r\n");
}

void Session::cmd_stls(const std::string&) {
    if (!tls_options_.offer || io_.tls()) return err("STLS not available");
    if (Status loaded = tls_.load(); !loaded) {
        log::error("pop3d.tls", loaded.error());
        return err("[SYS/TEMP] TLS not available");
    }
    ok("begin TLS negotiation");
    if (!io_.flush()) return void(quit_ = true);
    // start_tls() drops anything sent in clear after STLS.
    if (Status st = tls_.start(io_); !st) {
        log::warn("pop3d.tls", "{}: {} ({})", peer_.ip, st.error().user, st.error().detail);
        quit_ = true;
    }
    user_.clear();
}

void Session::cmd_user(const std::string& arg) {
    if (!secure()) return err("[AUTH] plaintext authentication needs TLS (use STLS)");
    if (arg.empty()) return err("USER needs a name");
    user_ = arg;
    ok("send PASS");
}

void Session::cmd_pass(const std::string& arg) {
    if (user_.empty()) return err("USER first");
    std::string user = std::exchange(user_, {});
    login(user, arg);
}

void Session::cmd_auth(const std::string& arg) {
    if (arg.empty()) {
        ok("mechanisms follow");
        return io_.write("PLAIN\r\n.\r\n");
    }
    if (!secure()) return err("[AUTH] authentication needs TLS (use STLS)");
    Command c = parse_command(arg);
    if (c.keyword != "PLAIN") return err("unsupported mechanism");
    std::string initial = c.arg;
    if (initial.empty()) {
        io_.write("+ \r\n");
        if (!io_.flush() || io_.read_line(initial, max_command_line) != net::Stream::Line::ok)
            return void(quit_ = true);
        if (initial == "*") return err("authentication cancelled");
    }
    auto decoded = base64_decode(initial);
    auto cred = decoded ? parse_plain(*decoded) : std::nullopt;
    if (!cred || (!cred->authzid.empty() && cred->authzid != cred->user))
        return err("[AUTH] malformed PLAIN response");
    login(cred->user, cred->password);
}

void Session::login(const std::string& user, const std::string& password) {
    auto checked = check_login(cfg_, dir_, user, password);
    if (!checked) {
        log::error("pop3d.auth", checked.error());
        return err("[SYS/TEMP] temporary problem, try again later");
    }
    const auto& who = *checked;
    if (!who) {
        io_.flush();
        penalty_.wait_after_failure(peer_.ip, user, "pop3d.auth");
        return err("[AUTH] invalid user name or password");
    }
    penalty_.success(*who);
    auto a = parse_address(*who);
    std::string root = mailbox_root(cfg_, *a);
    auto drop = Maildrop::open(root);
    if (!drop) {
        if (drop.error().code == Errc::cantcreat)
            return err("[IN-USE] mailbox in use by another POP3 session");
        log::error("pop3d.maildrop", drop.error());
        return err("[SYS/TEMP] temporary problem, try again later");
    }
    // One mailbox from now on (base/confine.hpp).
    if (auto confined = confine_to(root); !confined) {
        log::error("pop3d.confine", confined.error());
        return err("[SYS/TEMP] temporary problem, try again later");
    }
    drop_ = std::move(*drop);
    state_ = State::transaction;
    uint64_t total = 0;
    for (auto& m : drop_->messages()) total += m.size;
    log::info("pop3d.login", "{} logged in from {}: {} messages", *who, peer_.ip,
              drop_->messages().size());
    ok(fmt::format("{} messages ({} octets)", drop_->messages().size(), total));
}

DropMessage* Session::message(const std::string& arg) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
    auto& list = drop_->messages();
    if (ec != std::errc() || end != arg.data() + arg.size() || n == 0 || n > list.size()) {
        err("no such message");
        return nullptr;
    }
    if (list[n - 1].deleted) {
        err("message already deleted");
        return nullptr;
    }
    return &list[n - 1];
}

void Session::cmd_stat(const std::string&) {
    size_t n = 0;
    uint64_t size = 0;
    for (auto& m : drop_->messages())
        if (!m.deleted) n++, size += m.size;
    ok(fmt::format("{} {}", n, size));
}

void Session::cmd_list(const std::string& arg) {
    auto& list = drop_->messages();
    if (!arg.empty()) {
        if (DropMessage* m = message(arg)) ok(fmt::format("{} {}", arg, m->size));
        return;
    }
    ok("scan listing follows");
    for (size_t i = 0; i < list.size(); i++)
        if (!list[i].deleted) io_.write(fmt::format("{} {}\r\n", i + 1, list[i].size));
    io_.write(".\r\n");
}

void Session::cmd_uidl(const std::string& arg) {
    auto& list = drop_->messages();
    if (!arg.empty()) {
        if (DropMessage* m = message(arg)) ok(fmt::format("{} {}", arg, m->uidl));
        return;
    }
    ok("unique-id listing follows");
    for (size_t i = 0; i < list.size(); i++)
        if (!list[i].deleted) io_.write(fmt::format("{} {}\r\n", i + 1, list[i].uidl));
    io_.write(".\r\n");
}

void Session::send_message(const DropMessage& m, long body_lines) {
    Fd fd(::open(m.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return err("[SYS/TEMP] message unavailable (moved or deleted by another client)");
    ok(body_lines < 0 ? fmt::format("{} octets", m.size) : "top of message follows");
    Pop3Encoder enc(body_lines);
    char buf[65536];
    std::string out;
    ssize_t n;
    while (!enc.full() && (n = ::read(fd.get(), buf, sizeof buf)) > 0) {
        enc.feed(std::string_view(buf, static_cast<size_t>(n)), out);
        if (out.size() < 256 * 1024) continue; // send big pieces; the rest with the final "."
        io_.write(out);
        out.clear();
        if (!io_.flush()) return void(quit_ = true);
    }
    enc.finish(out);
    io_.write(out + ".\r\n");
}

void Session::cmd_retr(const std::string& arg) {
    if (DropMessage* m = message(arg)) send_message(*m, -1);
}

void Session::cmd_top(const std::string& arg) {
    Command c = parse_command(arg); // "msg lines": the keyword is the message number
    long lines = -1;
    auto [end, ec] = std::from_chars(c.arg.data(), c.arg.data() + c.arg.size(), lines);
    if (ec != std::errc() || end != c.arg.data() + c.arg.size() || lines < 0)
        return err("syntax: TOP msg lines");
    if (DropMessage* m = message(c.keyword)) send_message(*m, lines);
}

void Session::cmd_dele(const std::string& arg) {
    if (DropMessage* m = message(arg)) {
        m->deleted = true;
        ok("marked for deletion");
    }
}

void Session::cmd_noop(const std::string&) { ok(""); }

void Session::cmd_rset(const std::string&) {
    for (auto& m : drop_->messages()) m.deleted = false;
    ok("nothing will be deleted");
}

void Session::cmd_quit(const std::string&) {
    quit_ = true;
    if (state_ != State::transaction) return ok("bye");
    auto n = drop_->commit(); // the UPDATE state
    if (!n) {
        log::error("pop3d.update", n.error());
        return err("[SYS/TEMP] some deleted messages were not removed");
    }
    log::info("pop3d.logout", "{} deleted {} messages", peer_.ip, *n);
    ok(fmt::format("bye ({} messages deleted)", *n));
}

} // namespace mail::pop3
