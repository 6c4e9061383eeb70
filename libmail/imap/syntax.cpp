#include "syntax.hpp"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::imap {

namespace {

Error bad(std::string why) { return make_error(Errc::data, std::move(why)); }

class Tokenizer {
  public:
    Tokenizer(std::string_view w, size_t p) : w_(w), p_(p) {}
    size_t pos() const { return p_; }

    Result<std::vector<Value>> line() {
        std::vector<Value> out;
        for (;;) {
            while (peek() == ' ') p_++;
            if (end_of_line()) return out;
            auto v = value(0);
            if (!v) return v.error();
            out.push_back(std::move(*v));
        }
    }

  private:
    char peek() const { return p_ < w_.size() ? w_[p_] : '\0'; }
    bool end_of_line() {
        if (p_ >= w_.size()) return true;
        if (w_.substr(p_, 2) == "\r\n") {
            p_ += 2;
            return true;
        }
        return false;
    }
    std::string shown() const { return single_line(w_.substr(0, std::min<size_t>(w_.size(), 100))); }

    Result<Value> value(int depth) {
        if (depth > max_nesting) return bad("nested too deeply");
        char c = peek();
        Value v;
        if (c == '(') {
            p_++;
            v.kind = Value::Kind::list;
            for (;;) {
                while (peek() == ' ') p_++;
                if (peek() == ')') {
                    p_++;
                    return v;
                }
                if (p_ >= w_.size() || peek() == '\r' || peek() == '\n') return bad("unterminated list");
                auto item = value(depth + 1);
                if (!item) return item.error();
                v.items.push_back(std::move(*item));
            }
        }
        if (c == '"') {
            p_++;
            v.kind = Value::Kind::string;
            for (;;) {
                if (p_ >= w_.size() || w_[p_] == '\r' || w_[p_] == '\n') return bad("unterminated string");
                char d = w_[p_++];
                if (d == '"') return v;
                if (d == '\\') {
                    if (p_ >= w_.size()) return bad("unterminated string");
                    d = w_[p_++];
                }
                v.text += d;
            }
        }
        if (c == '{' || (c == '~' && p_ + 1 < w_.size() && w_[p_ + 1] == '{')) {
            size_t open = c == '~' ? p_ + 1 : p_;
            size_t close = w_.find('}', open);
            if (close == std::string_view::npos || close - open > 22) return bad("malformed literal");
            auto mark = literal_at_end(w_.substr(open, close - open + 1));
            if (mark.size < 0) return bad("malformed literal");
            if (w_.substr(close + 1, 2) != "\r\n") return bad("literal without CRLF");
            size_t start = close + 3;
            if (static_cast<uint64_t>(mark.size) > w_.size() - std::min(start, w_.size()))
                return bad("literal shorter than announced");
            v.kind = Value::Kind::string;
            v.literal = true;
            v.text = std::string(w_.substr(start, static_cast<size_t>(mark.size)));
            p_ = start + static_cast<size_t>(mark.size);
            return v;
        }
        // An atom; a section spec in brackets may hold spaces and
        // parentheses. Without a "]" on the line, "[" is an atom's own
        // character (RFC 3501 9: ATOM-CHAR), as in the mailbox name foo[bar.
        size_t s = p_;
        while (p_ < w_.size()) {
            char d = w_[p_];
            if (d == '[') {
                size_t e = w_.find(']', p_);
                size_t eol = w_.find('\r', p_);
                p_ = e == std::string_view::npos || e > eol ? p_ + 1 : e + 1;
                continue;
            }
            if (d == ' ' || d == '(' || d == ')' || d == '\r' || d == '\n' || d == '"' || d == '{') break;
            p_++;
        }
        if (p_ == s) return bad("unexpected character: " + shown());
        v.text = std::string(w_.substr(s, p_ - s));
        return v;
    }

    std::string_view w_;
    size_t p_;
};

} // namespace

bool Value::is(std::string_view atom) const { return kind == Kind::atom && iequals(text, atom); }

Result<std::vector<Value>> parse_values(std::string_view wire, size_t& pos) {
    Tokenizer t(wire, pos);
    auto out = t.line();
    pos = t.pos();
    return out;
}

LiteralMark literal_at_end(std::string_view line) {
    LiteralMark m;
    if (line.empty() || line.back() != '}') return m;
    size_t open = line.rfind('{');
    if (open == std::string_view::npos || line.size() - open > 22) return m;
    std::string_view digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+') {
        m.non_sync = true;
        digits.remove_suffix(1);
    }
    if (digits.empty() || digits.size() > 18) return m;
    int64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return m;
        n = n * 10 + (c - '0');
    }
    m.size = n;
    m.binary = open > 0 && line[open - 1] == '~';
    m.start = m.binary ? open - 1 : open;
    return m;
}

std::string string_value(std::string_view s, bool utf8) {
    bool quotable = s.size() < 1024;
    for (unsigned char c : s)
        if (c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8)) quotable = false;
    if (!quotable) return fmt::format("{{{}}}\r\n", s.size()) + std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string nstring(std::string_view s, bool present) { return present ? string_value(s) : "NIL"; }

int64_t parse_internal_date(std::string_view s) {
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    int day, year, hh, mm, ss, zone;
    char mon[4] = {}, sign;
    std::string t(s);
    if (sscanf(t.c_str(), "%d-%3c-%d %d:%d:%d %c%d", &day, mon, &year, &hh, &mm, &ss, &sign, &zone) != 8)
        return 0;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (iequals(mon, months[i])) m = i;
    if (m < 0 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60) return 0;
    std::tm tm{};
    tm.tm_year = year - 1900, tm.tm_mon = m, tm.tm_mday = day;
    tm.tm_hour = hh, tm.tm_min = mm, tm.tm_sec = ss;
    time_t t0 = timegm(&tm);
    std::tm back{};
    gmtime_r(&t0, &back);
    if (back.tm_mday != day || back.tm_mon != m) return 0; // 31-Feb
    int64_t offset = (zone / 100) * 3600 + (zone % 100) * 60;
    return sign == '-' ? t0 + offset : t0 - offset;
}

std::string format_internal_date(int64_t t) {
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = static_cast<time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[40];
    snprintf(buf, sizeof buf, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string uid_set(const std::vector<int64_t>& uids) {
    std::string out;
    for (size_t i = 0; i < uids.size();) {
        size_t j = i;
        while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) j++;
        if (!out.empty()) out += ',';
        out += std::to_string(uids[i]);
        if (j > i) out += ':' + std::to_string(uids[j]);
        i = j + 1;
    }
    return out;
}

} // namespace mail::imap
