#include "address.hpp"

#include <cctype>
#include <cstring>

namespace mail {
namespace {

bool is_atext(unsigned char c) {
    if (c >= 0x80) return true; // UTF-8 (RFC 6531)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool is_dot_string(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (size_t i = 0; i < s.size(); i++) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '.') {
            if (s[i - 1] == '.') return false;
        } else if (!is_atext(c)) {
            return false;
        }
    }
    return true;
}

// Decode UTF-8 into code points; false on invalid input.
bool utf8_decode(std::string_view s, std::u32string& out) {
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        char32_t cp = n == 1 ? c : c & (0x7f >> n);
        for (size_t k = 1; k < n; k++) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        out.push_back(cp);
        i += n;
    }
    return true;
}

// RFC 3492 bias adaptation.
uint32_t adapt(uint32_t delta, uint32_t numpoints, bool first) {
    delta = first ? delta / 700 : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((36 - 1) * 26) / 2) {
        delta /= 36 - 1;
        k += 36;
    }
    return k + (36 * delta) / (delta + 38);
}

// Lower case for ASCII, Latin-1, Greek and Cyrillic capitals: enough for
// the domain names people type; not a full IDNA2008 mapping.
char32_t simple_lower(char32_t c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7) ||
        (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) || (c >= 0x410 && c <= 0x42f))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40f) return c + 0x50;
    return c;
}

char digit(uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26)); }

// RFC 3492 encoding of one label (without the "xn--" prefix).
Result<std::string> punycode(const std::u32string& in) {
    std::string out;
    for (char32_t c : in)
        if (c < 0x80) out += static_cast<char>(c);
    uint32_t h = static_cast<uint32_t>(out.size()), b = h;
    if (b > 0) out += '-';
    uint32_t n = 0x80, delta = 0, bias = 72;
    while (h < in.size()) {
        uint32_t m = UINT32_MAX;
        for (char32_t c : in)
            if (c >= n && c < m) m = c;
        if ((m - n) > (UINT32_MAX - delta) / (h + 1)) return make_error(Errc::data, "IDN overflow");
        delta += (m - n) * (h + 1);
        n = m;
        for (char32_t c : in) {
            if (c < n && ++delta == 0) return make_error(Errc::data, "IDN overflow");
            if (c != n) continue;
            uint32_t q = delta;
            for (uint32_t k = 36;; k += 36) {
                uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
                if (q < t) break;
                out += digit(t + (q - t) % (36 - t));
                q = (q - t) / (36 - t);
            }
            out += digit(q);
            bias = adapt(delta, h + 1, h == b);
            delta = 0;
            h++;
        }
        delta++;
        n++;
    }
    return out;
}

bool valid_ldh_label(std::string_view l) {
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (char c : l)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

Result<std::string> unquote_local(std::string_view q) {
    std::string out;
    for (size_t i = 1; i + 1 < q.size(); i++) {
        auto c = static_cast<unsigned char>(q[i]);
        if (c == '\\') {
            if (++i + 1 >= q.size()) return make_error(Errc::data, "bad quoted local part");
            c = static_cast<unsigned char>(q[i]);
        } else if (c == '"') {
            return make_error(Errc::data, "bad quoted local part");
        }
        if (c < 0x20 || c == 0x7f) return make_error(Errc::data, "control character in address");
        out += static_cast<char>(c);
    }
    return out;
}

} // namespace

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string ascii_upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ascii_lower(a) == ascii_lower(b);
}

Result<std::string> normalize_domain(std::string_view domain) {
    if (domain.empty()) return make_error(Errc::data, "empty domain");
    if (domain.size() > max_domain) return make_error(Errc::data, "domain too long");
    if (domain.front() == '[') {
        if (domain.back() != ']' || domain.size() < 3)
            return make_error(Errc::data, "bad address literal");
        for (char c : domain.substr(1, domain.size() - 2))
            if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-'))
                return make_error(Errc::data, "bad address literal");
        return ascii_lower(domain);
    }
    std::string out;
    std::string_view rest = domain;
    if (rest.back() == '.') return make_error(Errc::data, "domain ends with a dot");
    while (true) {
        size_t dot = rest.find('.');
        std::string_view label = rest.substr(0, dot);
        std::u32string cps;
        if (!utf8_decode(label, cps)) return make_error(Errc::data, "domain is not valid UTF-8");
        std::string ascii;
        bool plain = true;
        for (char32_t c : cps) plain = plain && c < 0x80;
        if (plain) {
            ascii = ascii_lower(label);
        } else {
            for (auto& c : cps) c = simple_lower(c);
            auto p = punycode(cps);
            if (!p) return p.error();
            ascii = "xn--" + *p;
        }
        if (!valid_ldh_label(ascii))
            return make_error(Errc::data, "invalid domain label '" + std::string(label) + "'");
        out += ascii;
        if (dot == std::string_view::npos) break;
        out += '.';
        rest.remove_prefix(dot + 1);
    }
    if (out.size() > max_domain) return make_error(Errc::data, "domain too long");
    return out;
}

bool valid_utf8(std::string_view s) {
    std::u32string ignored;
    return utf8_decode(s, ignored);
}

Result<Address> parse_address(std::string_view text) {
    if (text.size() > max_path) return make_error(Errc::data, "address too long");
    if (!valid_utf8(text)) return make_error(Errc::data, "address is not valid UTF-8");
    size_t at = text.rfind('@');
    if (at == std::string_view::npos || at == 0)
        return make_error(Errc::data, "address needs local@domain");
    std::string_view local = text.substr(0, at);
    Address a;
    if (local.front() == '"') {
        if (local.size() < 2 || local.back() != '"')
            return make_error(Errc::data, "bad quoted local part");
        auto u = unquote_local(local);
        if (!u) return u.error();
        a.local = std::move(*u);
    } else {
        if (!is_dot_string(local))
            return make_error(Errc::data, "invalid local part '" + std::string(local) + "'");
        a.local = std::string(local);
    }
    if (a.local.size() > max_local_part) return make_error(Errc::data, "local part too long");
    auto d = normalize_domain(text.substr(at + 1));
    if (!d) return d.error();
    a.domain = std::move(*d);
    return a;
}

Result<Address> parse_path(std::string_view text) {
    if (text == "<>") return Address{};
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
        text = text.substr(1, text.size() - 2);
        // RFC 5321 4.1.2: a source route "@a,@b:" is accepted and ignored.
        if (!text.empty() && text.front() == '@') {
            size_t colon = text.find(':');
            if (colon == std::string_view::npos) return make_error(Errc::data, "bad source route");
            text.remove_prefix(colon + 1);
        }
    }
    return parse_address(text);
}

std::string Address::str() const {
    if (empty()) return "";
    std::string l = local;
    if (!is_dot_string(local)) {
        l = "\"";
        for (char c : local) {
            if (c == '"' || c == '\\') l += '\\';
            l += c;
        }
        l += '"';
    }
    return l + "@" + domain;
}

bool split_subaddress(std::string_view local, std::string_view delim, std::string& base,
                      std::string& tag) {
    if (delim.empty()) return false;
    size_t p = local.find(delim);
    if (p == std::string_view::npos || p == 0) return false;
    base = std::string(local.substr(0, p));
    tag = std::string(local.substr(p + delim.size()));
    return true;
}

} // namespace mail
