#include "envelope.hpp"

#include "imap/syntax.hpp"
#include "message/header.hpp"

namespace mail::imap {

namespace {

constexpr size_t max_addresses = 1000;

struct Token {
    enum class Kind { word, quoted, special, domain_literal } kind;
    std::string text;
    bool space_before = false;
};

// RFC 5322 tokens: comments and white space dropped (remembered as a
// space before the next token), quoted strings unquoted.
std::vector<Token> tokens(std::string_view v) {
    std::vector<Token> out;
    bool space = false;
    for (size_t i = 0; i < v.size() && out.size() < 20 * max_addresses;) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true, i++;
        } else if (c == '(') {
            int depth = 0;
            for (; i < v.size(); i++) {
                if (v[i] == '\\') i++;
                else if (v[i] == '(') depth++;
                else if (v[i] == ')' && --depth == 0) break;
            }
            i++, space = true;
        } else if (c == '"') {
            std::string q;
            for (i++; i < v.size() && v[i] != '"'; i++) {
                if (v[i] == '\\' && i + 1 < v.size()) i++;
                q += v[i];
            }
            i++;
            out.push_back({Token::Kind::quoted, q, space}), space = false;
        } else if (c == '[') {
            size_t e = v.find(']', i);
            if (e == std::string_view::npos) e = v.size() - 1;
            out.push_back({Token::Kind::domain_literal, std::string(v.substr(i, e - i + 1)), space}), space = false;
            i = e + 1;
        } else if (c == ',' || c == ':' || c == ';' || c == '<' || c == '>' || c == '@' || c == '.') {
            out.push_back({Token::Kind::special, std::string(1, c), space}), space = false;
            i++;
        } else {
            size_t s = i;
            while (i < v.size() && std::string_view(" \t\r\n()\"[,:;<>@.").find(v[i]) == std::string_view::npos) i++;
            out.push_back({Token::Kind::word, std::string(v.substr(s, i - s)), space}), space = false;
        }
    }
    return out;
}

bool is(const Token& t, char c) { return t.kind == Token::Kind::special && t.text[0] == c; }

// A phrase (display name): its words with single spaces; dots kept.
std::string phrase(const std::vector<Token>& t, size_t from, size_t to) {
    std::string out;
    for (size_t i = from; i < to; i++) {
        if (!out.empty() && t[i].space_before) out += ' ';
        out += t[i].text;
    }
    return out;
}

// local@domain from tokens [from, to): the local part as written (words
// and dots), the domain after the last '@'.
EnvelopeAddress addr_spec(const std::vector<Token>& t, size_t from, size_t to) {
    EnvelopeAddress a;
    size_t at = to;
    for (size_t i = from; i < to; i++)
        if (is(t[i], '@')) at = i;
    for (size_t i = from; i < at; i++) a.mailbox += t[i].text;
    if (at < to) {
        a.has_host = true;
        for (size_t i = at + 1; i < to; i++) a.host += t[i].text;
    }
    return a;
}

} // namespace

std::vector<EnvelopeAddress> envelope_addresses(std::string_view value) {
    auto t = tokens(value);
    std::vector<EnvelopeAddress> out;
    bool in_group = false;
    size_t i = 0;
    while (i < t.size() && out.size() < max_addresses) {
        size_t start = i;
        while (i < t.size() && !is(t[i], ',') && !is(t[i], ';') && !is(t[i], ':') && !is(t[i], '<')) i++;
        if (i < t.size() && is(t[i], '<')) {
            EnvelopeAddress a;
            if (i > start) a.name = phrase(t, start, i), a.has_name = true;
            size_t close = i + 1;
            while (close < t.size() && !is(t[close], '>')) close++;
            size_t inner = i + 1;
            // A source route "@a,@b:" before the address.
            if (inner < close && is(t[inner], '@')) {
                size_t colon = inner;
                while (colon < close && !is(t[colon], ':')) colon++;
                if (colon < close) {
                    for (size_t k = inner; k < colon; k++) a.adl += t[k].text;
                    inner = colon + 1;
                }
            }
            EnvelopeAddress spec = addr_spec(t, inner, close);
            a.mailbox = spec.mailbox, a.host = spec.host, a.has_host = spec.has_host;
            if (!a.mailbox.empty() || a.has_host) out.push_back(std::move(a));
            i = close < t.size() ? close + 1 : close;
            while (i < t.size() && !is(t[i], ',') && !is(t[i], ';')) i++; // stray text after '>'
        } else if (i < t.size() && is(t[i], ':') && !in_group) {
            EnvelopeAddress g;
            g.kind = EnvelopeAddress::Kind::group_start;
            g.mailbox = phrase(t, start, i);
            out.push_back(std::move(g));
            in_group = true;
            i++;
            continue;
        } else if (i > start) {
            EnvelopeAddress a = addr_spec(t, start, i);
            if (!a.mailbox.empty()) out.push_back(std::move(a));
        }
        if (i < t.size() && is(t[i], ';') && in_group) {
            EnvelopeAddress e;
            e.kind = EnvelopeAddress::Kind::group_end;
            out.push_back(std::move(e));
            in_group = false;
        }
        if (i < t.size() && is(t[i], ':')) {
            // A second ':' inside a group: not an address; skip to the next.
            while (i < t.size() && !is(t[i], ',') && !is(t[i], ';')) i++;
            continue;
        }
        i++;
    }
    if (in_group && out.size() < max_addresses) {
        EnvelopeAddress e;
        e.kind = EnvelopeAddress::Kind::group_end;
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

std::string address_list(const std::optional<std::string>& value) {
    if (!value) return "NIL";
    auto list = envelope_addresses(*value);
    if (list.empty()) return "NIL";
    std::string out = "(";
    for (auto& a : list) {
        switch (a.kind) {
        case EnvelopeAddress::Kind::group_start:
            out += "(NIL NIL " + string_value(a.mailbox) + " NIL)";
            break;
        case EnvelopeAddress::Kind::group_end: out += "(NIL NIL NIL NIL)"; break;
        case EnvelopeAddress::Kind::address:
            out += "(" + nstring(a.name, a.has_name) + " " + nstring(a.adl, !a.adl.empty()) + " " +
                   string_value(a.mailbox) + " " + nstring(a.host, a.has_host) + ")";
            break;
        }
    }
    return out + ")";
}

} // namespace

std::string field_nstring(const Header& h, std::string_view name) {
    auto v = h.get(name);
    return nstring(v ? *v : "", v.has_value());
}

std::string envelope(const Header& h) {
    auto field = [&](const char* name) { return field_nstring(h, name); };
    auto from = h.get("From");
    auto sender = h.get("Sender");
    auto reply_to = h.get("Reply-To");
    std::string out = "(" + field("Date") + " " + field("Subject") + " " + address_list(from) + " ";
    out += address_list(sender && !envelope_addresses(*sender).empty() ? sender : from) + " ";
    out += address_list(reply_to && !envelope_addresses(*reply_to).empty() ? reply_to : from) + " ";
    out += address_list(h.get("To")) + " " + address_list(h.get("Cc")) + " " + address_list(h.get("Bcc")) + " ";
    out += field("In-Reply-To") + " " + field("Message-ID") + ")";
    return out;
}

} // namespace mail::imap
