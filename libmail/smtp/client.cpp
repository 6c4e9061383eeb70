#include "client.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <unistd.h>

#include "base/encoding.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "net/connect.hpp"

namespace mail::smtp {

namespace {

// RFC 5321 4.5.3.2 (seconds).
constexpr int greeting_timeout = 300, mail_timeout = 300, rcpt_timeout = 300,
              data_init_timeout = 120, data_block_timeout = 180, data_end_timeout = 600;
constexpr size_t max_reply_line = 4096, max_reply_lines = 100, chunk = 64 * 1024;

bool is_status(std::string_view s) {
    return s.size() >= 5 && (s[0] >= '2' && s[0] <= '5') && s[1] == '.' && s[2] >= '0' && s[2] <= '9';
}

} // namespace

std::string Reply::dsn() const {
    std::string_view t = text;
    std::string_view first = t.substr(0, t.find(' '));
    if (is_status(first) && first[0] == static_cast<char>('0' + code / 100)) return std::string(first);
    if (code == 0) return "4.4.2";
    return code >= 500 ? "5.0.0" : code >= 400 ? "4.0.0" : "2.0.0";
}

std::string Reply::str() const {
    if (code == 0) return text.empty() ? "connection lost" : text;
    return std::to_string(code) + " " + text;
}

void DotStuffer::feed(std::string_view in, std::string& out) {
    out.reserve(out.size() + in.size() + in.size() / 32);
    for (char c : in) {
        if (after_cr_) {
            after_cr_ = false;
            if (c == '\n') continue; // the CRLF was written at the CR
        }
        if (c == '\r' || c == '\n') {
            out += "\r\n";
            line_start_ = true;
            after_cr_ = c == '\r';
            continue;
        }
        if (line_start_ && c == '.') out += '.';
        out += c;
        line_start_ = false;
    }
}

void DotStuffer::finish(std::string& out) {
    if (!line_start_) out += "\r\n";
    line_start_ = true;
}

Result<Client> Client::connect(const std::string& address, int port, int timeout) {
    auto fd = net::connect_address(address, port, timeout);
    if (!fd) return fd.error();
    return Client(fd->release());
}

Client::Client(int fd) : fd_(fd), io_(std::make_unique<net::Stream>(fd, fd)) {}

Client::Client(Client&& o) noexcept : fd_(o.fd_), io_(std::move(o.io_)), ext_(o.ext_) {
    o.fd_ = -1;
}

Client::~Client() {
    io_.reset(); // TLS shutdown before the close
    if (fd_ >= 0) ::close(fd_);
}

void Client::set_timeout(int seconds) { net::set_socket_timeout(fd_, seconds); }

ReplyParser::State ReplyParser::feed(std::string_view line) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (++lines_ > max_reply_lines) return fail("reply too long");
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !digit(line[1]) || !digit(line[2]) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
        return fail("malformed reply: " + single_line(line.substr(0, 80)));
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (lines_ > 1 && code != reply_.code) return fail("malformed multi-line reply");
    reply_.code = code;
    std::string_view text = line.substr(std::min<size_t>(4, line.size()));
    if (lines_ > 1) reply_.text += ' ';
    reply_.text += text;
    keywords_.emplace_back(lines_ > 1 ? ascii_lower(text) : "");
    return line.size() == 3 || line[3] == ' ' ? State::done : State::more;
}

ReplyParser::State ReplyParser::fail(std::string why) {
    reply_ = Reply{0, std::move(why)};
    return State::bad;
}

Extensions ReplyParser::extensions() const {
    Extensions e;
    e.esmtp = reply_.code == 250;
    for (auto& kw : keywords_) {
        std::string word = kw.substr(0, kw.find(' '));
        if (word == "pipelining") e.pipelining = true;
        else if (word == "starttls") e.starttls = true;
        else if (word == "8bitmime") e.eightbitmime = true;
        else if (word == "smtputf8") e.smtputf8 = true;
        else if (word == "dsn") e.dsn = true;
        else if (word == "size") e.size = true, e.max_size = strtoull(kw.c_str() + 4, nullptr, 10);
        else if (word == "auth") {
            e.auth_plain = (kw + " ").find(" plain ") != std::string::npos;
            e.auth_login = (kw + " ").find(" login ") != std::string::npos;
        }
    }
    return e;
}

Reply Client::read_reply(int timeout, Extensions* ext) {
    set_timeout(timeout);
    ReplyParser p;
    std::string line;
    for (;;) {
        if (io_->read_line(line, max_reply_line) != net::Stream::Line::ok)
            return Reply{0, "connection lost or timed out"};
        auto st = p.feed(line);
        if (st == ReplyParser::State::more) continue;
        if (ext && st == ReplyParser::State::done) *ext = p.extensions();
        return p.reply();
    }
}

Reply Client::command(std::string_view line, int timeout) {
    set_timeout(timeout);
    io_->write(line);
    io_->write("\r\n");
    if (!io_->flush()) return Reply{0, "connection lost while sending"};
    return read_reply(timeout);
}

Status Client::handshake(const net::TlsContext& ctx, const std::string& host) {
    set_timeout(mail_timeout);
    return io_->start_tls_client(ctx, host);
}

Reply Client::greeting() { return read_reply(greeting_timeout); }

Reply Client::hello(const std::string& name) {
    ext_ = Extensions{};
    set_timeout(mail_timeout);
    io_->write("EHLO " + name + "\r\n");
    if (!io_->flush()) return Reply{0, "connection lost while sending"};
    Reply r = read_reply(mail_timeout, &ext_);
    if (r.code == 250 || r.code == 0 || r.code == 421) return r;
    ext_ = Extensions{};
    return command("HELO " + name, mail_timeout);
}

Result<Reply> Client::starttls(const net::TlsContext& ctx, const std::string& host,
                               const std::string& helo) {
    Reply r = command("STARTTLS", mail_timeout);
    if (r.code != 220) return r;
    set_timeout(mail_timeout);
    MAIL_TRY(io_->start_tls_client(ctx, host));
    return hello(helo);
}

Reply Client::auth(const std::string& user, const std::string& password) {
    if (ext_.auth_plain) {
        std::string msg = std::string(1, '\0') + user + std::string(1, '\0') + password;
        return command("AUTH PLAIN " + base64_encode(msg), mail_timeout);
    }
    if (!ext_.auth_login) return Reply{554, "5.7.8 the relay host offers neither AUTH PLAIN nor LOGIN"};
    Reply r = command("AUTH LOGIN", mail_timeout);
    if (r.code == 334) r = command(base64_encode(user), mail_timeout);
    if (r.code == 334) r = command(base64_encode(password), mail_timeout);
    return r;
}

bool Client::send_data(const Outgoing& m) {
    set_timeout(data_block_timeout);
    DotStuffer dot;
    std::string buf;
    dot.feed(m.prefix, buf);
    for (size_t off = 0; off < m.message.size(); off += chunk) {
        dot.feed(m.message.substr(off, chunk), buf);
        io_->write(buf);
        buf.clear();
        if (!io_->flush()) return false;
    }
    dot.finish(buf);
    buf += ".\r\n";
    io_->write(buf);
    return io_->flush();
}

Sent Client::send(const Outgoing& m) {
    Sent out;
    std::vector<std::string> cmds;
    cmds.push_back("MAIL FROM:<" + m.sender + ">" + m.mail_params);
    for (size_t i = 0; i < m.recipients.size(); i++)
        cmds.push_back("RCPT TO:<" + m.recipients[i] + ">" +
                       (i < m.rcpt_params.size() ? m.rcpt_params[i] : ""));
    cmds.push_back("DATA");
    // With PIPELINING the whole envelope goes at once (RFC 2920); without,
    // each command waits for its reply.
    std::vector<Reply> replies;
    auto lost = [&](const Reply& r) {
        out.replies.assign(m.recipients.size(), r.code ? r : Reply{0, r.text});
        return out;
    };
    if (ext_.pipelining) {
        set_timeout(mail_timeout);
        for (auto& c : cmds) io_->write(c + "\r\n");
        if (!io_->flush()) return lost(Reply{0, "connection lost while sending"});
        for (size_t i = 0; i < cmds.size(); i++) {
            int t = i == 0 ? mail_timeout : i + 1 < cmds.size() ? rcpt_timeout : data_init_timeout;
            replies.push_back(read_reply(t));
            if (replies.back().code == 0) return lost(replies.back());
        }
    } else {
        for (size_t i = 0; i < cmds.size(); i++) {
            int t = i == 0 ? mail_timeout : i + 1 < cmds.size() ? rcpt_timeout : data_init_timeout;
            replies.push_back(command(cmds[i], t));
            if (replies.back().code == 0) return lost(replies.back());
            if (i == 0 && !replies[0].ok()) break;
            if (i + 2 == cmds.size() &&
                std::none_of(replies.begin() + 1, replies.end(), [](auto& r) { return r.ok(); }))
                break; // no recipient: no DATA
        }
    }
    const Reply& mail = replies[0];
    if (!mail.ok() || replies.size() < cmds.size()) {
        for (size_t i = 0; i < m.recipients.size(); i++)
            out.replies.push_back(!mail.ok() ? mail : replies[i + 1]);
        out.connection_usable = mail.code != 421 && command("RSET", mail_timeout).ok();
        return out;
    }
    const Reply& data = replies.back();
    bool any = false;
    for (size_t i = 0; i < m.recipients.size(); i++) any |= replies[i + 1].ok();
    Reply final = data;
    if (data.code == 354) {
        if (!any) { // pipelined DATA accepted without a recipient: send nothing
            final = command(".", data_end_timeout);
        } else {
            if (!send_data(m)) return lost(Reply{0, "connection lost during DATA"});
            final = read_reply(data_end_timeout);
            if (final.code == 0) return lost(final);
        }
    }
    for (size_t i = 0; i < m.recipients.size(); i++)
        out.replies.push_back(replies[i + 1].ok() ? final : replies[i + 1]);
    out.connection_usable = final.code != 421 && final.code != 0;
    if (out.connection_usable && (data.code != 354 || !any))
        out.connection_usable = command("RSET", mail_timeout).ok();
    return out;
}

void Client::quit() {
    Reply r = command("QUIT", 10);
    (void)r;
}

} // namespace mail::smtp
