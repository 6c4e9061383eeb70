#include "mutf7.hpp"

namespace mail::imap {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int digit(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

Error bad(std::string why) { return make_error(Errc::data, "mailbox name: " + std::move(why)); }

// The next code point of UTF-8 text, or -1 when invalid.
int32_t next_utf8(std::string_view s, size_t& i) {
    auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0) return -1;
    int32_t cp = n == 0 ? b : b & (0x3f >> n);
    for (int k = 1; k <= n; k++) {
        if (i + k >= s.size()) return -1;
        auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xc0) != 0x80) return -1;
        cp = (cp << 6) | (c & 0x3f);
    }
    static const int32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    i += static_cast<size_t>(n) + 1;
    return cp;
}

} // namespace

void put_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) out += static_cast<char>(0xc0 | (cp >> 6)), out += static_cast<char>(0x80 | (cp & 0x3f));
    else if (cp < 0x10000)
        out += static_cast<char>(0xe0 | (cp >> 12)), out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f)),
            out += static_cast<char>(0x80 | (cp & 0x3f));
    else
        out += static_cast<char>(0xf0 | (cp >> 18)), out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f)),
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f)), out += static_cast<char>(0x80 | (cp & 0x3f));
}

Result<std::string> mutf7_encode(std::string_view utf8) {
    std::string out;
    std::u16string run; // UTF-16 units waiting for a shift
    auto flush = [&] {
        if (run.empty()) return;
        out += '&';
        uint32_t bits = 0;
        int nbits = 0;
        for (char16_t u : run) {
            bits = (bits << 16) | u;
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                out += alphabet[(bits >> nbits) & 0x3f];
            }
        }
        if (nbits > 0) out += alphabet[(bits << (6 - nbits)) & 0x3f];
        out += '-';
        run.clear();
    };
    for (size_t i = 0; i < utf8.size();) {
        int32_t cp = next_utf8(utf8, i);
        if (cp < 0) return bad("not UTF-8");
        if (cp >= 0x20 && cp <= 0x7e) {
            flush();
            out += static_cast<char>(cp);
            if (cp == '&') out += '-';
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            run += static_cast<char16_t>(0xd800 + (cp >> 10));
            run += static_cast<char16_t>(0xdc00 + (cp & 0x3ff));
        } else {
            run += static_cast<char16_t>(cp);
        }
    }
    flush();
    return out;
}

Result<std::string> mutf7_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        char c = s[i];
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return bad("byte outside printable ASCII");
        if (c != '&') {
            out += c;
            i++;
            continue;
        }
        size_t end = s.find('-', i + 1);
        if (end == std::string_view::npos) return bad("unterminated '&' shift");
        if (end == i + 1) {
            out += '&';
            i = end + 1;
            continue;
        }
        uint32_t bits = 0;
        int nbits = 0;
        std::u16string units;
        for (size_t k = i + 1; k < end; k++) {
            int d = digit(s[k]);
            if (d < 0) return bad("invalid character in a '&' shift");
            bits = (bits << 6) | static_cast<uint32_t>(d);
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                units += static_cast<char16_t>((bits >> nbits) & 0xffff);
            }
        }
        if (nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0) return bad("bad padding in a '&' shift");
        if (units.empty()) return bad("empty '&' shift");
        for (size_t k = 0; k < units.size(); k++) {
            char16_t a = units[k];
            int32_t cp = a;
            if (a >= 0xd800 && a <= 0xdbff) {
                if (k + 1 >= units.size() || units[k + 1] < 0xdc00 || units[k + 1] > 0xdfff)
                    return bad("lone surrogate");
                cp = 0x10000 + ((a - 0xd800) << 10) + (units[++k] - 0xdc00);
            } else if (a >= 0xdc00 && a <= 0xdfff) {
                return bad("lone surrogate");
            } else if (a >= 0x20 && a <= 0x7e) {
                return bad("printable ASCII inside a '&' shift");
            }
            put_utf8(cp, out);
        }
        i = end + 1;
        // Two shifts back to back would be one in the canonical form.
        if (i < s.size() && s[i] == '&' && i + 1 < s.size() && s[i + 1] != '-') return bad("two '&' shifts in a row");
    }
    return out;
}

} // namespace mail::imap
