// The one RFC 5322 address-list reader (section 3.4): display names,
// comments, quoted strings, groups and obsolete source routes, the text
// kept as written. parse_address_list() checks and normalises its
// addresses; IMAP's ENVELOPE shows them as written.
#include <string>

#include "message/address.hpp"

namespace mail {

namespace {

constexpr size_t max_addresses = 1000;

struct Token {
    enum class Kind { word, quoted, special, domain_literal } kind;
    std::string text;
    bool space_before = false;
};

// A comment, kept for the one place it says something: after a bare
// addr-spec it is the person's name ("user@domain (Real Name)").
struct Comment {
    size_t before; // the index of the token that follows it
    std::string text;
};

// The comment at v[i] == '(': its text (nested parentheses kept, quoted
// pairs unquoted); i ends past it.
std::string comment(std::string_view v, size_t& i) {
    std::string text;
    int depth = 0;
    for (; i < v.size(); i++) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            text += v[++i];
            continue;
        }
        if (v[i] == '(' && depth++ == 0) continue;
        if (v[i] == ')' && --depth == 0) break;
        text += v[i];
    }
    i++;
    size_t b = text.find_first_not_of(" \t\r\n"), e = text.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

// RFC 5322 tokens: comments and white space dropped (remembered as a
// space before the next token; the comments in `comments`), quoted
// strings unquoted.
std::vector<Token> tokens(std::string_view v, std::vector<Comment>& comments) {
    std::vector<Token> out;
    bool space = false;
    for (size_t i = 0; i < v.size() && out.size() < 20 * max_addresses;) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true, i++;
        } else if (c == '(') {
            std::string text = comment(v, i);
            if (comments.size() < max_addresses) comments.push_back({out.size(), std::move(text)});
            space = true;
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
ListedAddress addr_spec(const std::vector<Token>& t, size_t from, size_t to) {
    ListedAddress a;
    size_t at = to;
    for (size_t i = from; i < to; i++)
        if (is(t[i], '@')) at = i;
    for (size_t i = from; i < at; i++) a.local += t[i].text;
    if (at < to) {
        a.has_domain = true;
        for (size_t i = at + 1; i < to; i++) a.domain += t[i].text;
    }
    return a;
}

} // namespace

std::vector<ListedAddress> read_address_list(std::string_view value) {
    std::vector<Comment> comments;
    auto t = tokens(value, comments);
    std::vector<ListedAddress> out;
    bool in_group = false;
    size_t i = 0;
    while (i < t.size() && out.size() < max_addresses) {
        size_t start = i;
        while (i < t.size() && !is(t[i], ',') && !is(t[i], ';') && !is(t[i], ':') && !is(t[i], '<')) i++;
        if (i < t.size() && is(t[i], '<')) {
            ListedAddress a;
            if (i > start) a.name = phrase(t, start, i), a.has_name = true;
            size_t close = i + 1;
            while (close < t.size() && !is(t[close], '>')) close++;
            size_t inner = i + 1;
            // A source route "@a,@b:" before the address.
            if (inner < close && is(t[inner], '@')) {
                size_t colon = inner;
                while (colon < close && !is(t[colon], ':')) colon++;
                if (colon < close) {
                    for (size_t k = inner; k < colon; k++) a.route += t[k].text;
                    inner = colon + 1;
                }
            }
            ListedAddress spec = addr_spec(t, inner, close);
            a.local = spec.local, a.domain = spec.domain, a.has_domain = spec.has_domain;
            if (!a.local.empty() || a.has_domain) out.push_back(std::move(a));
            i = close < t.size() ? close + 1 : close;
            while (i < t.size() && !is(t[i], ',') && !is(t[i], ';')) i++; // stray text after '>'
        } else if (i < t.size() && is(t[i], ':') && !in_group) {
            ListedAddress g;
            g.kind = ListedAddress::Kind::group_start;
            g.name = phrase(t, start, i);
            out.push_back(std::move(g));
            in_group = true;
            i++;
            continue;
        } else if (i > start) {
            ListedAddress a = addr_spec(t, start, i);
            // The last non-empty comment in or right after it names the person.
            for (auto& c : comments)
                if (c.before > start && c.before <= i && !c.text.empty()) a.name = c.text, a.has_name = true;
            if (!a.local.empty()) out.push_back(std::move(a));
        }
        if (i < t.size() && is(t[i], ';') && in_group) {
            ListedAddress e;
            e.kind = ListedAddress::Kind::group_end;
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
        ListedAddress e;
        e.kind = ListedAddress::Kind::group_end;
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<Address> parse_address_list(std::string_view header_value) {
    std::vector<Address> out;
    for (auto& l : read_address_list(header_value)) {
        if (l.kind != ListedAddress::Kind::mailbox || !l.has_domain) continue;
        // Quoted again where the local part needs it, then checked as a path.
        Address written{l.local, l.domain};
        if (auto a = parse_path("<" + written.str() + ">")) out.push_back(std::move(*a));
    }
    return out;
}

} // namespace mail
