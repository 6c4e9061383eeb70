#include "pop3.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "base/encoding.hpp"
#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::fetch::pop3 {

namespace {

constexpr size_t max_status_line = 4096;
constexpr size_t max_data_line = 1 << 20; // a message line; longer ones are an error
constexpr size_t max_listing = 10'000'000; // UIDL/LIST lines

Error bad(std::string why) { return make_error(Errc::unavailable, "POP3 server: " + why); }

} // namespace

Result<bool> status(std::string_view line) {
    if (line.starts_with("+OK")) return true;
    if (line.starts_with("-ERR")) return false;
    return bad("malformed reply: " + single_line(line.substr(0, 80)));
}

namespace {

// Decimal digits only, at most `max_digits` of them.
bool number(std::string_view s, size_t max_digits, int64_t& out) {
    if (s.empty() || s.size() > max_digits) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    return true;
}

} // namespace

Result<Message> listing_line(std::string_view l, bool uidl) {
    auto malformed = [&] { return bad("malformed listing line: " + single_line(l.substr(0, 100))); };
    size_t sp = l.find(' ');
    int64_t n = 0;
    if (sp == std::string_view::npos || !number(l.substr(0, sp), 9, n) || n == 0) return malformed();
    Message m;
    m.number = static_cast<int>(n);
    std::string_view rest = l.substr(sp + 1);
    if (uidl) {
        if (rest.empty() || rest.size() > 70 ||
            std::any_of(rest.begin(), rest.end(), [](char c) { return c < 0x21 || c > 0x7e; }))
            return bad("malformed UIDL: " + single_line(l.substr(0, 100)));
        m.uidl = std::string(rest);
    } else if (!number(rest.substr(0, rest.find(' ')), 18, m.size)) {
        return malformed();
    }
    return m;
}

bool unstuff(std::string_view line, std::string& out) {
    if (line == ".") return false;
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    out.assign(line);
    return true;
}

Client::~Client() = default;

bool Client::has(std::string_view word) const {
    return std::any_of(capa_.begin(), capa_.end(), [&](auto& c) { return iequals(c, word); });
}

Result<Client> Client::open(const Endpoint& ep) {
    auto conn = Connection::open(ep);
    if (!conn) return conn.error();
    Client c(std::move(*conn));
    auto greeting = c.conn_->line(max_status_line);
    if (!greeting) return greeting.error();
    auto ok = status(*greeting);
    if (!ok) return ok.error();
    if (!*ok) return bad("refused the connection: " + single_line(*greeting));
    (void)c.capabilities(); // CAPA is optional (RFC 2449)
    if (ep.tls == "starttls") {
        if (!c.has("STLS"))
            return make_error(Errc::unavailable, c.conn_->peer() + " does not offer STLS");
        auto r = c.command("STLS");
        if (!r) return r.error();
        MAIL_TRY(c.conn_->start_tls(ep));
        c.capa_.clear();
        (void)c.capabilities();
    }
    return c;
}

Result<std::string> Client::command(const std::string& cmd, bool secret) {
    MAIL_TRY(conn_->send(cmd + "\r\n"));
    auto line = conn_->line(max_status_line);
    if (!line) return line.error();
    auto ok = status(*line);
    if (!ok) return ok.error();
    std::string shown = secret ? cmd.substr(0, cmd.find(' ')) : cmd;
    if (!*ok) return make_error(Errc::unavailable, single_line(shown + " answered " + *line));
    return *line;
}

Status Client::multiline(const std::function<Status(std::string_view)>& each, bool counted) {
    std::string out;
    for (;;) {
        auto line = conn_->line(max_data_line, counted);
        if (!line) return line.error();
        if (!unstuff(*line, out)) return {};
        MAIL_TRY(each(out));
    }
}

Status Client::capabilities() {
    auto r = command("CAPA");
    if (!r) return r.error();
    size_t n = 0;
    return multiline([&](std::string_view l) -> Status {
        if (++n > 100) return bad("CAPA too long");
        capa_.emplace_back(l.substr(0, l.find(' ')));
        if (l.starts_with("SASL ") && (" " + std::string(l) + " ").find(" PLAIN ") != std::string::npos)
            capa_.emplace_back("SASL-PLAIN");
        return {};
    });
}

Status Client::login(const std::string& user, const std::string& password) {
    if (user.find_first_of("\r\n") != std::string::npos || password.find_first_of("\r\n") != std::string::npos)
        return make_error(Errc::data, "user name or password contains a line break");
    Result<std::string> r = std::string();
    if (has("SASL-PLAIN")) {
        r = command("AUTH PLAIN " + base64_encode(std::string(1, '\0') + user + std::string(1, '\0') + password), true);
    } else {
        r = command("USER " + user, true);
        if (r) r = command("PASS " + password, true);
    }
    if (!r) {
        // [SYS/TEMP] and [IN-USE] (RFC 3206, 2449) are not the password's fault.
        const std::string& why = r.error().user;
        bool theirs = r.error().code == Errc::tempfail || why.find("[SYS/TEMP]") != std::string::npos ||
                      why.find("[IN-USE]") != std::string::npos;
        return make_error(theirs ? Errc::tempfail : Errc::noperm, why);
    }
    return {};
}

Result<std::vector<Message>> Client::list() {
    std::map<int, Message> by_number;
    size_t lines = 0;
    auto parse = [&](bool uidl) {
        return [&, uidl](std::string_view l) -> Status {
            if (++lines > max_listing) return bad("listing too long");
            auto line = listing_line(l, uidl);
            if (!line) return line.error();
            Message& m = by_number[line->number];
            m.number = line->number;
            if (uidl) m.uidl = std::move(line->uidl);
            else m.size = line->size;
            return {};
        };
    };
    auto r = command("UIDL");
    if (!r) return make_error(Errc::unavailable, "the server has no UIDL (needed to fetch only new mail): " + r.error().user);
    MAIL_TRY(multiline(parse(true)));
    r = command("LIST");
    if (!r) return r.error();
    MAIL_TRY(multiline(parse(false)));
    std::vector<Message> out;
    for (auto& [n, m] : by_number)
        if (!m.uidl.empty()) out.push_back(m);
    return out;
}

Status Client::retrieve(const std::vector<Message>& messages, const Receiver& to) {
    // With PIPELINING, keep a window of RETRs in flight.
    size_t window = has("PIPELINING") ? 16 : 1;
    size_t sent = 0;
    std::string crlf_line;
    for (size_t i = 0; i < messages.size(); i++) {
        std::string batch;
        while (sent < messages.size() && sent < i + window)
            batch += fmt::format("RETR {}\r\n", messages[sent++].number);
        if (!batch.empty()) MAIL_TRY(conn_->send(batch));
        else conn_->restart_budget(); // each message has the whole time
        auto line = conn_->line(max_status_line);
        if (!line) return line.error();
        auto ok = status(*line);
        if (!ok) return ok.error();
        if (!*ok)
            return make_error(Errc::unavailable, single_line(fmt::format("RETR {} answered {}",
                                                                         messages[i].number, *line)));
        MAIL_TRY(to.start(messages[i]));
        MAIL_TRY(multiline([&](std::string_view l) -> Status {
            crlf_line.assign(l);
            crlf_line += "\r\n";
            return to.data(crlf_line);
        }, false));
        MAIL_TRY(to.done(messages[i]));
    }
    return {};
}

Status Client::remove(int number) {
    auto r = command(fmt::format("DELE {}", number));
    if (!r) return r.error();
    return {};
}

Status Client::quit() {
    auto r = command("QUIT");
    if (!r) return r.error();
    return {};
}

} // namespace mail::fetch::pop3
