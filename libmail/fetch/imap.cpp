#include "imap.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>
#include <poll.h>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::fetch::imap {

namespace {

constexpr size_t max_line = 16 << 20;          // one line of a response (a long SEARCH)
constexpr size_t max_response = 32 << 20;      // a response without its streamed body
constexpr size_t max_small_literal = 1 << 20;  // a literal other than a message body
constexpr int64_t max_uid = 4294967295;        // UIDs are 32-bit

Error bad(std::string why) { return make_error(Errc::unavailable, "IMAP server: " + why); }

class Parser {
  public:
    explicit Parser(std::string_view w) : w_(w) {}

    Result<Response> response() {
        Response r;
        r.tag = word();
        if (r.tag.empty()) return bad("response without a tag");
        if (r.tag == "+") {
            if (peek() == ' ') p_++;
            r.text = rest_of_line();
            return r;
        }
        if (!space()) return bad("malformed response: " + shown());
        size_t save = p_;
        std::string w = ascii_upper(word());
        if (w == "OK" || w == "NO" || w == "BAD" || w == "BYE" || w == "PREAUTH") {
            r.status = w;
            if (peek() == ' ') p_++;
            if (peek() == '[') {
                size_t end = w_.find(']', p_);
                size_t eol = w_.find('\r', p_);
                if (end == std::string_view::npos || end > eol) return bad("unterminated response code");
                r.code = std::string(w_.substr(p_ + 1, end - p_ - 1));
                p_ = end + 1;
                if (peek() == ' ') p_++;
            }
            r.text = rest_of_line();
            return r;
        }
        if (r.tag != "*") return bad("tagged response without a status: " + shown());
        p_ = save;
        auto values = ::mail::imap::parse_values(w_, p_);
        if (!values) return bad(values.error().user);
        r.data = std::move(*values);
        return r;
    }

  private:
    char peek() const { return p_ < w_.size() ? w_[p_] : '\0'; }
    bool space() {
        if (peek() != ' ') return false;
        p_++;
        return true;
    }
    std::string word() {
        size_t s = p_;
        while (p_ < w_.size() && w_[p_] != ' ' && w_[p_] != '\r' && w_[p_] != '\n') p_++;
        return std::string(w_.substr(s, p_ - s));
    }
    std::string rest_of_line() {
        size_t e = w_.find("\r\n", p_);
        if (e == std::string_view::npos) e = w_.size();
        std::string t(w_.substr(p_, e - p_));
        p_ = e;
        return t;
    }
    std::string shown() const { return single_line(w_.substr(0, std::min<size_t>(w_.size(), 100))); }

    std::string_view w_;
    size_t p_ = 0;
};

const Value* find_item(const Value& list, std::string_view key) {
    for (size_t i = 0; i + 1 < list.items.size(); i += 2)
        if (list.items[i].is(key)) return &list.items[i + 1];
    return nullptr;
}

int64_t number(const Value* v) {
    if (!v || v->kind != Value::Kind::atom || v->text.empty() || v->text.size() > 18) return -1;
    int64_t n = 0;
    for (char c : v->text) {
        if (c < '0' || c > '9') return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

// "* n FETCH (...)": the attribute list, or nullptr.
const Value* fetch_items(const Response& r) {
    if (r.tag != "*" || r.data.size() != 3 || !r.data[1].is("FETCH") ||
        r.data[2].kind != Value::Kind::list)
        return nullptr;
    return &r.data[2];
}

Fetched fetched_of(const Value& items) {
    Fetched m;
    m.uid = number(find_item(items, "UID"));
    if (m.uid > max_uid) m.uid = -1; // not a UID (RFC 9051: nz-number, 32 bits)
    m.size = number(find_item(items, "RFC822.SIZE"));
    if (auto* d = find_item(items, "INTERNALDATE"); d && d->kind == Value::Kind::string)
        m.internaldate = parse_internal_date(d->text);
    if (auto* f = find_item(items, "FLAGS"); f && f->kind == Value::Kind::list)
        for (auto& x : f->items) m.flags.push_back(x.text);
    return m;
}

// Whether the literal announced at the end of `wire` is a message body.
bool body_literal(std::string_view wire) {
    size_t brace = wire.rfind('{');
    std::string_view before = wire.substr(0, brace);
    for (std::string_view k : {"BODY[] ", "BODY[]<0> ", "RFC822 ", "BINARY[] "})
        if (before.size() >= k.size() && iequals(before.substr(before.size() - k.size()), k)) return true;
    return false;
}

// The words of a [CAPABILITY ...] response code.
Capabilities capabilities_of(std::string_view code) {
    Capabilities caps;
    std::string_view rest = code.substr(std::min<size_t>(code.size(), 11));
    for (size_t p = 0; p < rest.size();) {
        size_t sp = rest.find(' ', p);
        if (sp == std::string_view::npos) sp = rest.size();
        if (sp > p) caps.words.emplace_back(rest.substr(p, sp - p));
        p = sp + 1;
    }
    return caps;
}

} // namespace

Result<Response> parse_response(std::string_view wire) { return Parser(wire).response(); }

bool Capabilities::has(std::string_view w) const {
    return std::any_of(words.begin(), words.end(), [&](auto& x) { return iequals(x, w); });
}

bool ListEntry::selectable() const {
    return std::none_of(flags.begin(), flags.end(), [](auto& f) {
        return iequals(f, "\\Noselect") || iequals(f, "\\NonExistent");
    });
}

std::string ListEntry::special_use() const {
    for (auto& f : flags)
        for (const char* u : {"Sent", "Drafts", "Trash", "Junk", "Archive"})
            if (iequals(f, std::string("\\") + u)) return u;
    return "";
}

std::string astring(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

Client::~Client() = default;

Result<Client> Client::open(const Endpoint& ep) {
    auto conn = Connection::open(ep);
    if (!conn) return conn.error();
    Client c(std::move(*conn));
    auto greeting = c.read(nullptr);
    if (!greeting) return greeting.error();
    if (greeting->tag != "*" || (greeting->status != "OK" && greeting->status != "PREAUTH"))
        return bad("refused the connection: " + single_line(greeting->status + " " + greeting->text));
    if (greeting->code.starts_with("CAPABILITY ")) {
        c.caps_ = capabilities_of(greeting->code);
    } else {
        MAIL_TRY(c.refresh_capabilities());
    }
    if (ep.tls == "starttls") MAIL_TRY(c.starttls(ep));
    return c;
}

Status Client::starttls(const Endpoint& ep) {
    // Never continue in clear when TLS was asked for.
    if (!caps_.has("STARTTLS"))
        return make_error(Errc::unavailable, conn_->peer() + " does not offer STARTTLS");
    MAIL_TRY(command("STARTTLS", nullptr));
    MAIL_TRY(conn_->start_tls(ep));
    // What the server said before TLS may have been forged: ask again.
    return refresh_capabilities();
}

Status Client::refresh_capabilities() {
    Capabilities caps;
    MAIL_TRY(command("CAPABILITY", [&](const Response& r) -> Status {
        if (!r.data.empty() && r.data[0].is("CAPABILITY"))
            for (size_t i = 1; i < r.data.size(); i++) caps.words.push_back(r.data[i].text);
        return {};
    }));
    caps_ = std::move(caps);
    return {};
}

Result<Response> Client::read(BodySink* sink) {
    std::string wire;
    for (;;) {
        auto l = conn_->line(max_line);
        if (!l) return l.error();
        wire += *l;
        wire += "\r\n";
        if (wire.size() > max_response) return bad("response too long");
        int64_t n = ::mail::imap::literal_at_end(*l).size;
        if (n < 0) break;
        if (sink && body_literal(std::string_view(wire).substr(0, wire.size() - 2))) {
            // Stream the body; the parsed response holds an empty literal.
            wire.resize(wire.rfind('{'));
            wire += "{0}\r\n";
            MAIL_TRY(sink->begin(n));
            conn_->restart_budget(); // each body has the whole time
            MAIL_TRY(conn_->bytes(static_cast<size_t>(n), [&](std::string_view piece) { return sink->data(piece); },
                                  false));
            body_seen_ = true;
            continue;
        }
        if (static_cast<uint64_t>(n) > max_small_literal) return bad(fmt::format("literal of {} bytes", n));
        MAIL_TRY(conn_->bytes(static_cast<size_t>(n), [&](std::string_view piece) -> Status {
            wire += piece;
            return {};
        }));
    }
    return parse_response(wire);
}

Status Client::command(const std::string& cmd, const std::function<Status(const Response&)>& each,
                       BodySink* sink, bool secret, const std::string& continuation) {
    bool continued = continuation.empty();
    std::string tag = fmt::format("F{}", ++tag_);
    MAIL_TRY(conn_->send(tag + " " + cmd + "\r\n"));
    std::string shown = secret ? cmd.substr(0, cmd.find(' ')) : cmd.substr(0, 60);
    for (;;) {
        body_seen_ = false;
        auto r = read(sink);
        if (!r) return r.error();
        if (r->tag == tag) {
            if (r->status == "OK") {
                last_code_ = r->code;
                return {};
            }
            return make_error(Errc::unavailable,
                              single_line(fmt::format("{} answered {} {}{}", shown, r->status,
                                                      r->code.empty() ? "" : "[" + r->code + "] ", r->text)));
        }
        if (r->tag == "*" && r->status == "BYE")
            return make_error(Errc::tempfail, "server closed the session: " + single_line(r->text));
        if (r->tag == "+") {
            if (continued) return bad("unexpected continuation request after " + shown);
            MAIL_TRY(conn_->send(continuation + "\r\n"));
            continued = true;
            continue;
        }
        if (r->tag != "*") return bad("response with an unknown tag " + single_line(r->tag));
        if (each) MAIL_TRY(each(*r));
    }
}

Status Client::login(const std::string& user, const std::string& password) {
    if (user.find_first_of("\r\n") != std::string::npos || password.find_first_of("\r\n") != std::string::npos)
        return make_error(Errc::data, "user name or password contains a line break");
    Status st;
    if (caps_.has("AUTH=PLAIN")) {
        std::string ir = base64_encode(std::string(1, '\0') + user + std::string(1, '\0') + password);
        st = caps_.has("SASL-IR") ? command("AUTHENTICATE PLAIN " + ir, nullptr, nullptr, true)
                                   : command("AUTHENTICATE PLAIN", nullptr, nullptr, true, ir);
    } else if (caps_.has("LOGINDISABLED")) {
        return make_error(Errc::unavailable, conn_->peer() + " refuses LOGIN without TLS (LOGINDISABLED)");
    } else {
        st = command("LOGIN " + astring(user) + " " + astring(password), nullptr, nullptr, true);
    }
    if (!st) {
        // A refusal is the credentials' fault, unless the server says it
        // is its own (RFC 5530 UNAVAILABLE) or the command was malformed.
        const std::string& why = st.error().user;
        bool theirs = why.find("[UNAVAILABLE]") != std::string::npos ||
                      why.find("answered BAD") != std::string::npos;
        return make_error(theirs ? Errc::tempfail : Errc::noperm, why);
    }
    if (last_code_.starts_with("CAPABILITY ")) {
        caps_ = capabilities_of(last_code_);
        return {};
    }
    return refresh_capabilities();
}

Result<std::vector<ListEntry>> Client::list() {
    std::vector<ListEntry> out;
    // Servers with SPECIAL-USE put \Sent and the others in every LIST reply.
    MAIL_TRY(command("LIST \"\" \"*\"", [&](const Response& r) -> Status {
        if (r.data.size() < 4 || !r.data[0].is("LIST") || r.data[1].kind != Value::Kind::list) return {};
        ListEntry e;
        for (auto& f : r.data[1].items) e.flags.push_back(f.text);
        if (!r.data[2].nil() && !r.data[2].text.empty()) e.delimiter = r.data[2].text[0];
        e.name = r.data[3].text;
        if (iequals(e.name, "INBOX")) e.name = "INBOX";
        out.push_back(std::move(e));
        return {};
    }));
    return out;
}

Result<Selected> Client::select(const std::string& folder, bool read_only) {
    Selected s;
    MAIL_TRY(command(std::string(read_only ? "EXAMINE " : "SELECT ") + astring(folder), [&](const Response& r) -> Status {
        if (r.status == "OK" && r.code.starts_with("UIDVALIDITY "))
            s.uidvalidity = strtoll(r.code.c_str() + 12, nullptr, 10);
        else if (r.status == "OK" && r.code.starts_with("UIDNEXT "))
            s.uidnext = strtoll(r.code.c_str() + 8, nullptr, 10);
        else if (r.data.size() == 2 && r.data[1].is("EXISTS"))
            s.exists = number(&r.data[0]);
        return {};
    }));
    if (s.uidvalidity <= 0) return bad("no UIDVALIDITY for " + folder);
    return s;
}

Result<std::vector<Fetched>> Client::sizes_from(int64_t from) {
    std::vector<Fetched> out;
    if (from > max_uid) return out; // nothing can come after the last possible UID
    MAIL_TRY(command(fmt::format("UID FETCH {}:* (UID RFC822.SIZE)", std::max<int64_t>(from, 1)),
                     [&](const Response& r) -> Status {
                         if (auto* items = fetch_items(r)) {
                             Fetched m = fetched_of(*items);
                             if (m.uid >= from && m.uid > 0) out.push_back(std::move(m));
                         }
                         return {};
                     }));
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.uid < b.uid; });
    out.erase(std::unique(out.begin(), out.end(), [](auto& a, auto& b) { return a.uid == b.uid; }), out.end());
    return out;
}

Result<std::vector<std::pair<Fetched, std::string>>> Client::message_ids() {
    std::vector<std::pair<Fetched, std::string>> out;
    MAIL_TRY(command("UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                     [&](const Response& r) -> Status {
                         auto* items = fetch_items(r);
                         if (!items) return {};
                         Fetched m = fetched_of(*items);
                         std::string id;
                         for (size_t i = 0; i + 1 < items->items.size(); i += 2)
                             if (items->items[i].kind == Value::Kind::atom &&
                                 iequals(items->items[i].text.substr(0, 5), "BODY["))
                                 if (auto h = parse_header(items->items[i + 1].text); h)
                                     id = h->get("Message-ID").value_or("");
                         if (m.uid > 0) out.emplace_back(std::move(m), std::move(id));
                         return {};
                     }));
    return out;
}

Status Client::fetch(const std::string& uids, BodySink& sink) {
    return command("UID FETCH " + uids + " (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])",
                   [&](const Response& r) -> Status {
                       auto* items = fetch_items(r);
                       if (!items) return {};
                       return sink.done(fetched_of(*items), body_seen_);
                   },
                   &sink);
}

Status Client::remove(const std::string& uids) {
    MAIL_TRY(command("UID STORE " + uids + " +FLAGS.SILENT (\\Deleted)", nullptr));
    return command(caps_.has("UIDPLUS") ? "UID EXPUNGE " + uids : "EXPUNGE", nullptr);
}

Result<bool> Client::idle(int seconds) {
    if (!caps_.has("IDLE")) return make_error(Errc::unavailable, conn_->peer() + " does not offer IDLE");
    std::string tag = fmt::format("F{}", ++tag_);
    MAIL_TRY(conn_->send(tag + " IDLE\r\n"));
    conn_->restart_budget(seconds + 60); // the wait, then DONE's answer
    auto cont = read(nullptr);
    if (!cont) return cont.error();
    if (cont->tag != "+") return bad("IDLE refused: " + single_line(cont->status + " " + cont->text));
    bool news = false;
    time_t end = time(nullptr) + seconds;
    while (!news) {
        time_t now = time(nullptr);
        if (now >= end) break;
        if (!conn_->stream().wait_input(static_cast<int>(end - now) * 1000)) break;
        auto r = read(nullptr);
        if (!r) return r.error();
        if (r->status == "BYE") return make_error(Errc::tempfail, "server ended IDLE: " + single_line(r->text));
        if (r->data.size() == 2 && r->data[1].is("EXISTS")) news = true;
    }
    MAIL_TRY(conn_->send("DONE\r\n"));
    for (;;) {
        auto r = read(nullptr);
        if (!r) return r.error();
        if (r->tag == tag) {
            if (r->status != "OK") return bad("IDLE ended with " + single_line(r->status + " " + r->text));
            return news;
        }
        if (r->data.size() == 2 && r->data[1].is("EXISTS")) news = true;
    }
}

void Client::logout() {
    if (conn_) (void)command("LOGOUT", nullptr);
}

} // namespace mail::fetch::imap
