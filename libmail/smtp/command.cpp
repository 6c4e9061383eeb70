#include "command.hpp"

#include "message/address.hpp"

namespace mail::smtp {

namespace {

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

Error syntax(std::string what) { return make_error(Errc::data, std::move(what)); }

bool xchar(char c) { return c >= 33 && c <= 126 && c != '+' && c != '='; }

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The path ends at the '>' that closes the opening '<', outside quotes.
Result<size_t> path_end(std::string_view s) {
    bool quoted = false;
    for (size_t i = 1; i < s.size(); i++) {
        char c = s[i];
        if (quoted && c == '\\') i++;
        else if (c == '"') quoted = !quoted;
        else if (c == '>' && !quoted) return i;
    }
    return syntax("unterminated path (missing '>')");
}

} // namespace

Command parse_command(std::string_view line) {
    size_t sp = line.find(' ');
    Command c{upper(line.substr(0, sp)), ""};
    if (sp != std::string_view::npos) c.arg = trim_left(line.substr(sp + 1));
    return c;
}

Result<PathArg> parse_path_arg(std::string_view arg, std::string_view keyword) {
    if (arg.size() < keyword.size() || !iequals(arg.substr(0, keyword.size()), keyword))
        return syntax("expected " + std::string(keyword) + "<address>");
    std::string_view s = trim_left(arg.substr(keyword.size()));
    if (s.empty() || s.front() != '<') return syntax("expected '<' before the address");
    auto end = path_end(s);
    if (!end) return end.error();
    PathArg out{std::string(s.substr(1, *end - 1)), {}};
    s.remove_prefix(*end + 1);
    if (!s.empty() && s.front() != ' ') return syntax("expected a space after '>'");
    while (!(s = trim_left(s)).empty()) {
        size_t sp = s.find(' ');
        std::string_view p = s.substr(0, sp);
        s.remove_prefix(sp == std::string_view::npos ? s.size() : sp);
        Param param;
        size_t eq = p.find('=');
        param.key = upper(p.substr(0, eq));
        if (eq != std::string_view::npos) {
            param.value = p.substr(eq + 1);
            param.has_value = true;
        }
        if (param.key.empty()) return syntax("empty parameter name");
        out.params.push_back(std::move(param));
    }
    return out;
}

Result<std::string> decode_xtext(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '+') {
            int hi = i + 2 < s.size() ? hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (lo < 0) return syntax("bad xtext escape");
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (xchar(s[i])) {
            out += s[i];
        } else {
            return syntax("bad xtext character");
        }
    }
    return out;
}

std::string encode_xtext(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (xchar(static_cast<char>(c))) out += static_cast<char>(c);
        else out += {'+', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

} // namespace mail::smtp
