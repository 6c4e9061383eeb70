#include "spf.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>

#include "message/address.hpp"

// The SPF record's syntax (RFC 7208 4.6, 12) and its macros (7).
namespace mail::verify {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

Error syntax(std::string_view what) { return make_error(Errc::data, fmt::format("SPF syntax error: {}", what)); }

// --- macros (RFC 7208 7.1) ---------------------------------------------

struct Macro {
    char letter = 0; // 0: a literal
    std::string literal;
    int digits = 0;
    bool reverse = false;
    std::string delimiters;
};

constexpr std::string_view delimiter_chars = ".-+,/_=";

// The macro string as literals and macros; exp: c, r and t allowed.
Result<std::vector<Macro>> tokens(std::string_view s, bool exp) {
    std::vector<Macro> out;
    auto literal = [&](std::string_view text) {
        if (out.empty() || out.back().letter) out.emplace_back();
        out.back().literal.append(text);
    };
    for (size_t i = 0; i < s.size();) {
        char c = s[i];
        if (c != '%') {
            // macro-literal is %x21-24 / %x26-7E; an explanation is text
            // with spaces.
            if (!(c >= 0x21 && c <= 0x7e) && !(exp && c == ' '))
                return syntax(fmt::format("character 0x{:02x} in '{}'", static_cast<unsigned char>(c), s));
            literal(s.substr(i, 1));
            i++;
            continue;
        }
        if (i + 1 >= s.size()) return syntax(fmt::format("'%' at the end of '{}'", s));
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            literal(n == '%' ? "%" : n == '_' ? " " : "%20");
            i += 2;
            continue;
        }
        if (n != '{') return syntax(fmt::format("'%{}' in '{}'", n, s));
        size_t end = s.find('}', i);
        if (end == std::string_view::npos) return syntax(fmt::format("unclosed macro in '{}'", s));
        std::string_view body = s.substr(i + 2, end - i - 2);
        i = end + 1;
        if (body.empty()) return syntax(fmt::format("empty macro in '{}'", s));
        Macro m;
        m.letter = body[0];
        char l = lower(m.letter);
        bool known = std::string_view("slodiphv").find(l) != std::string_view::npos ||
                     (exp && std::string_view("crt").find(l) != std::string_view::npos);
        if (!known) return syntax(fmt::format("macro letter '{}' in '{}'", m.letter, s));
        size_t k = 1;
        if (k < body.size() && is_digit(body[k])) {
            size_t start = k;
            while (k < body.size() && is_digit(body[k])) k++;
            if (k - start > 3) return syntax(fmt::format("macro digits in '{}'", s));
            m.digits = std::stoi(std::string(body.substr(start, k - start)));
            if (m.digits == 0) return syntax(fmt::format("macro takes 0 parts in '{}'", s));
        }
        if (k < body.size() && lower(body[k]) == 'r') m.reverse = true, k++;
        for (; k < body.size(); k++) {
            if (delimiter_chars.find(body[k]) == std::string_view::npos)
                return syntax(fmt::format("macro delimiter '{}' in '{}'", body[k], s));
            m.delimiters += body[k];
        }
        out.push_back(std::move(m));
    }
    return out;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool toplabel(std::string_view l) {
    if (l.empty() || l.front() == '-' || l.back() == '-') return false;
    bool alpha = false, hyphen = false;
    for (char c : l) {
        if (is_alpha(c)) alpha = true;
        else if (c == '-') hyphen = true;
        else if (!is_digit(c)) return false;
    }
    return alpha || hyphen;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
Status check_domain_spec(std::string_view spec) {
    auto t = tokens(spec, false);
    if (!t) return t.error();
    if (t->empty()) return syntax("empty domain");
    const Macro& last = t->back();
    // A literal ending in %%, %_ or %- ends with a macro-expand.
    std::string_view raw = spec;
    if (last.letter || (raw.size() >= 2 && raw[raw.size() - 2] == '%' &&
                        (raw.back() == '%' || raw.back() == '_' || raw.back() == '-')))
        return {};
    std::string_view lit = last.literal;
    if (!lit.empty() && lit.back() == '.') lit.remove_suffix(1);
    size_t dot = lit.rfind('.');
    if (dot == std::string_view::npos || !toplabel(lit.substr(dot + 1)))
        return syntax(fmt::format("'{}' does not end in a domain", spec));
    return {};
}

std::string url_escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (is_alpha(static_cast<char>(c)) || is_digit(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' ||
            c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::string transform(const std::string& value, const Macro& m) {
    std::string delims = m.delimiters.empty() ? "." : m.delimiters;
    std::vector<std::string> parts(1);
    for (char c : value) {
        if (delims.find(c) != std::string::npos) parts.emplace_back();
        else parts.back() += c;
    }
    if (m.reverse) std::reverse(parts.begin(), parts.end());
    size_t from = m.digits && static_cast<size_t>(m.digits) < parts.size() ? parts.size() - m.digits : 0;
    std::string out;
    for (size_t i = from; i < parts.size(); i++) {
        if (i > from) out += '.';
        out += parts[i];
    }
    return out;
}

Result<int> cidr(std::string_view digits, int max) {
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0'))
        return syntax(fmt::format("prefix length '{}'", digits));
    int n = 0;
    for (char c : digits) {
        if (!is_digit(c)) return syntax(fmt::format("prefix length '{}'", digits));
        n = n * 10 + (c - '0');
    }
    if (n > max) return syntax(fmt::format("prefix length {} over {}", n, max));
    return n;
}

// "a" and "mx": [":" domain-spec] [ "/" ip4-cidr ] [ "//" ip6-cidr ], read from the end.
Status dual_cidr(std::string_view rest, SpfTerm& t) {
    size_t dd = rest.rfind("//");
    if (dd != std::string_view::npos && rest.find_first_not_of("0123456789", dd + 2) == std::string_view::npos) {
        auto n = cidr(rest.substr(dd + 2), 128);
        if (!n) return n.error();
        t.cidr6 = *n;
        rest = rest.substr(0, dd);
    }
    size_t sl = rest.rfind('/');
    if (sl != std::string_view::npos && rest.find_first_not_of("0123456789", sl + 1) == std::string_view::npos &&
        (sl == 0 || rest[sl - 1] != '/')) {
        auto n = cidr(rest.substr(sl + 1), 32);
        if (!n) return n.error();
        t.cidr4 = *n;
        rest = rest.substr(0, sl);
    }
    if (rest.empty()) return {};
    if (rest[0] != ':') return syntax(fmt::format("term '{}'", t.text));
    t.spec = rest.substr(1);
    return check_domain_spec(t.spec);
}

} // namespace

Result<std::string> expand_macros(std::string_view spec, const MacroValues& v, bool exp) {
    auto t = tokens(spec, exp);
    if (!t) return t.error();
    std::string out;
    for (auto& m : *t) {
        if (!m.letter) {
            out += m.literal;
            continue;
        }
        std::string value;
        switch (lower(m.letter)) {
        case 's': value = v.sender; break;
        case 'l': value = v.local; break;
        case 'o': value = v.sender_domain; break;
        case 'd': value = v.domain; break;
        case 'i': value = v.ip; break;
        case 'p': value = v.validated ? v.validated() : "unknown"; break;
        case 'h': value = v.helo; break;
        case 'v': value = v.ipv6 ? "ip6" : "in-addr"; break;
        case 'c': value = v.ip_readable; break;
        case 'r': value = v.receiver.empty() ? "unknown" : v.receiver; break;
        case 't': value = std::to_string(v.now); break;
        }
        value = transform(value, m);
        out += is_alpha(m.letter) && m.letter != lower(m.letter) ? url_escape(value) : value;
    }
    return out;
}

Result<std::vector<SpfTerm>> parse_spf(std::string_view record) {
    std::vector<SpfTerm> out;
    bool version = false, redirect = false, exp = false;
    size_t i = 0;
    while (i < record.size()) {
        if (record[i] == ' ') {
            i++;
            continue;
        }
        size_t end = record.find(' ', i);
        if (end == std::string_view::npos) end = record.size();
        std::string_view term = record.substr(i, end - i);
        i = end;
        if (!version) {
            if (!iequals(term, "v=spf1")) return syntax("not an SPF version 1 record");
            version = true;
            continue;
        }
        SpfTerm t{SpfTerm::all, Qualifier::pass, "", 32, 128, std::string(term)};
        // A modifier: name "=" macro-string, the name starting with a letter.
        size_t eq = term.find('=');
        size_t name_end = 0;
        while (name_end < term.size() && (is_alpha(term[name_end]) || is_digit(term[name_end]) ||
                                          term[name_end] == '-' || term[name_end] == '_' || term[name_end] == '.'))
            name_end++;
        if (eq != std::string_view::npos && eq == name_end && eq > 0 && is_alpha(term[0])) {
            std::string_view name = term.substr(0, eq);
            t.spec = term.substr(eq + 1);
            if (iequals(name, "redirect") || iequals(name, "exp")) {
                bool& seen = iequals(name, "redirect") ? redirect : exp;
                if (seen) return syntax(fmt::format("'{}' twice", ascii_lower(name)));
                seen = true;
                t.kind = iequals(name, "redirect") ? SpfTerm::redirect : SpfTerm::exp;
                MAIL_TRY(check_domain_spec(t.spec));
            } else {
                t.kind = SpfTerm::unknown_modifier;
                auto tk = tokens(t.spec, false);
                if (!tk) return tk.error();
            }
            out.push_back(std::move(t));
            continue;
        }
        std::string_view rest = term;
        if (!rest.empty() && std::string_view("+-~?").find(rest[0]) != std::string_view::npos) {
            t.qualifier = static_cast<Qualifier>(rest[0]);
            rest.remove_prefix(1);
        }
        size_t n = 0;
        while (n < rest.size() && (is_alpha(rest[n]) || is_digit(rest[n]))) n++;
        std::string name = ascii_lower(rest.substr(0, n));
        rest.remove_prefix(n);
        if (name == "all") {
            if (!rest.empty()) return syntax(fmt::format("term '{}'", term));
            t.kind = SpfTerm::all;
        } else if (name == "include" || name == "exists") {
            if (rest.size() < 2 || rest[0] != ':') return syntax(fmt::format("term '{}' needs a domain", term));
            t.kind = name == "include" ? SpfTerm::include : SpfTerm::exists;
            t.spec = rest.substr(1);
            MAIL_TRY(check_domain_spec(t.spec));
        } else if (name == "a" || name == "mx") {
            t.kind = name == "a" ? SpfTerm::a : SpfTerm::mx;
            MAIL_TRY(dual_cidr(rest, t));
        } else if (name == "ptr") {
            t.kind = SpfTerm::ptr;
            if (!rest.empty()) {
                if (rest[0] != ':') return syntax(fmt::format("term '{}'", term));
                t.spec = rest.substr(1);
                MAIL_TRY(check_domain_spec(t.spec));
            }
        } else if (name == "ip4" || name == "ip6") {
            bool six = name == "ip6";
            t.kind = six ? SpfTerm::ip6 : SpfTerm::ip4;
            if (rest.size() < 2 || rest[0] != ':') return syntax(fmt::format("term '{}' needs a network", term));
            rest.remove_prefix(1);
            size_t sl = rest.find('/');
            std::string net(rest.substr(0, sl));
            unsigned char buf[16];
            if (inet_pton(six ? AF_INET6 : AF_INET, net.c_str(), buf) != 1)
                return syntax(fmt::format("network '{}'", net));
            if (sl != std::string_view::npos) {
                auto bits = cidr(rest.substr(sl + 1), six ? 128 : 32);
                if (!bits) return bits.error();
                (six ? t.cidr6 : t.cidr4) = *bits;
            }
            t.spec = net;
        } else {
            return syntax(fmt::format("unknown mechanism '{}'", term));
        }
        out.push_back(std::move(t));
    }
    if (!version) return syntax("not an SPF version 1 record");
    return out;
}

} // namespace mail::verify
