#include "header.hpp"

#include <cstdio>
#include <ctime>

#include "address.hpp"

namespace mail {
namespace {

bool valid_field_name(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127 || c == ':') return false;
    }
    return true;
}

// End of the line starting at `pos` (index of '\n' or size) and the start of the next.
size_t line_end(std::string_view s, size_t pos) {
    size_t nl = s.find('\n', pos);
    return nl == std::string_view::npos ? s.size() : nl;
}

std::string_view chomp(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

} // namespace

Result<Header> parse_header(std::string_view msg, size_t max_size) {
    Header h;
    size_t pos = 0;
    if (msg.starts_with("From ")) pos = std::min(line_end(msg, 0) + 1, msg.size());
    while (pos < msg.size()) {
        if (pos > max_size) return make_error(Errc::data, "message header too large");
        size_t end = line_end(msg, pos);
        std::string_view line = chomp(msg.substr(pos, end - pos));
        size_t next = std::min(end + 1, msg.size());
        if (line.empty()) {
            h.body_offset = next;
            return h;
        }
        // Continuation lines: append to the current field's value.
        size_t vend = end;
        while (vend < msg.size() && vend + 1 < msg.size() &&
               (msg[vend + 1] == ' ' || msg[vend + 1] == '\t')) {
            vend = line_end(msg, vend + 1);
            if (vend > max_size) return make_error(Errc::data, "message header too large");
        }
        size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view name = line.substr(0, colon);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
                name.remove_suffix(1);
            if (valid_field_name(name)) {
                size_t vstart = pos + colon + 1;
                h.fields.push_back({name, chomp(msg.substr(vstart, vend - vstart))});
            }
        }
        pos = std::min(vend + 1, msg.size());
    }
    h.body_offset = msg.size();
    return h;
}

std::string unfold(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\r' || c == '\n') continue;
        out += c;
    }
    size_t b = out.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    size_t e = out.find_last_not_of(" \t");
    return out.substr(b, e - b + 1);
}

std::optional<std::string> Header::get(std::string_view name) const {
    for (auto& f : fields)
        if (iequals(f.name, name)) return unfold(f.value);
    return std::nullopt;
}

size_t Header::count(std::string_view name) const {
    size_t n = 0;
    for (auto& f : fields)
        if (iequals(f.name, name)) n++;
    return n;
}

std::string single_line(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 32) c = ' ';
    return out;
}

namespace {
constexpr long long max_date = 253402300799; // 9999-12-31 23:59:59
}

std::string format_date(long long unix_time) {
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    // A time from a file (a queue entry's "arrived") may be anything: one
    // that gmtime cannot represent, or past year 9999, is the epoch.
    time_t t = static_cast<time_t>(unix_time);
    struct tm tm;
    if (unix_time < 0 || unix_time > max_date || !gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

} // namespace mail
