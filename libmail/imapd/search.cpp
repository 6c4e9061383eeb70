#include "search.hpp"

#include <ctime>

#include <algorithm>
#include <cstdio>

#include "message/address.hpp"
#include "message/mime.hpp"

namespace mail::imap {

namespace {

constexpr int max_depth = 32;
constexpr size_t max_keys = 1000;

Error bad(std::string why) { return make_error(Errc::data, std::move(why)); }

class Parser {
  public:
    explicit Parser(const std::vector<Value>& a) : a_(a) {}

    Result<SearchProgram> program() {
        SearchProgram p;
        p.root.op = SearchKey::Op::and_;
        if (more() && a_[i_].is("RETURN")) {
            i_++;
            if (!more()) return bad("RETURN needs a list");
            auto r = parse_return_options(a_[i_]);
            if (!r) return r.error();
            p.returns = std::move(*r);
            p.esearch = true;
            i_++;
        }
        if (more() && a_[i_].is("CHARSET")) {
            i_++;
            if (!more() || a_[i_].kind == Value::Kind::list) return bad("CHARSET needs a name");
            p.charset = ascii_upper(a_[i_++].text);
            if (p.charset != "UTF-8" && p.charset != "US-ASCII") return bad("[BADCHARSET (UTF-8 US-ASCII)] unsupported charset");
        }
        if (!more()) return bad("SEARCH needs a key");
        while (more()) {
            auto k = key(a_, i_, 0);
            if (!k) return k.error();
            p.root.children.push_back(std::move(*k));
        }
        return p;
    }

  private:
    bool more() const { return i_ < a_.size(); }
    static std::string single(const Value& v) { return v.text.substr(0, 40); }

    Result<SearchKey> key(const std::vector<Value>& a, size_t& i, int depth) {
        if (depth > max_depth) return bad("search keys nested too deeply");
        if (++keys_ > max_keys) return bad("too many search keys");
        using Op = SearchKey::Op;
        SearchKey k;
        const Value& v = a[i++];
        if (v.kind == Value::Kind::list) {
            if (v.items.empty()) return bad("empty search key list");
            k.op = Op::and_;
            for (size_t j = 0; j < v.items.size();) {
                auto c = key(v.items, j, depth + 1);
                if (!c) return c.error();
                k.children.push_back(std::move(*c));
            }
            return k;
        }
        if (v.kind != Value::Kind::atom) return bad("a search key cannot be a string");
        std::string w = ascii_upper(v.text);
        auto arg = [&](const char* what) -> Result<std::string> {
            if (i >= a.size() || a[i].kind == Value::Kind::list) return bad(w + " needs " + what);
            return a[i++].text;
        };
        auto flag = [&](const char* f, bool negate) {
            SearchKey fk;
            fk.op = Op::flag;
            fk.text = f;
            if (!negate) return fk;
            SearchKey n;
            n.op = Op::not_;
            n.children.push_back(std::move(fk));
            return n;
        };
        static const std::pair<const char*, const char*> flags[] = {
            {"ANSWERED", "\\Answered"}, {"DELETED", "\\Deleted"}, {"DRAFT", "\\Draft"},
            {"FLAGGED", "\\Flagged"},   {"SEEN", "\\Seen"},
        };
        for (auto& [name, f] : flags) {
            if (w == name) return flag(f, false);
            if (w == std::string("UN") + name) return flag(f, true);
        }
        if (w == "ALL") return k;
        if (w == "RECENT") return k.op = Op::recent, k;
        if (w == "NEW" || w == "OLD") {
            SearchKey r;
            r.op = Op::recent;
            if (w == "OLD") {
                k.op = Op::not_;
                k.children.push_back(std::move(r));
                return k;
            }
            k.op = Op::and_;
            k.children.push_back(std::move(r));
            k.children.push_back(flag("\\Seen", true));
            return k;
        }
        if (w == "KEYWORD" || w == "UNKEYWORD") {
            auto f = arg("a keyword");
            if (!f) return f.error();
            if (f->empty() || f->find_first_of("(){ %*\"\\]") != std::string::npos) return bad("invalid keyword");
            return flag(f->c_str(), w == "UNKEYWORD");
        }
        static const std::pair<const char*, Op> dates[] = {
            {"BEFORE", Op::before}, {"ON", Op::on}, {"SINCE", Op::since},
            {"SENTBEFORE", Op::sent_before}, {"SENTON", Op::sent_on}, {"SENTSINCE", Op::sent_since},
        };
        for (auto& [name, op] : dates)
            if (w == name) {
                auto d = arg("a date");
                if (!d) return d.error();
                k.op = op;
                k.number = parse_search_date(*d);
                if (k.number < 0) return bad("invalid date " + d->substr(0, 40));
                return k;
            }
        if (w == "LARGER" || w == "SMALLER" || w == "MODSEQ") {
            if (w == "MODSEQ" && i + 2 < a.size() && a[i].kind == Value::Kind::string) i += 2; // entry name and type
            auto n = arg("a number");
            if (!n) return n.error();
            if (n->empty() || n->size() > 19 || n->find_first_not_of("0123456789") != std::string::npos)
                return bad(w + " needs a number");
            k.op = w == "LARGER" ? Op::larger : w == "SMALLER" ? Op::smaller : Op::modseq;
            k.number = std::stoll(*n);
            return k;
        }
        static const std::pair<const char*, const char*> headers[] = {
            {"FROM", "FROM"}, {"TO", "TO"}, {"CC", "CC"}, {"BCC", "BCC"}, {"SUBJECT", "SUBJECT"},
        };
        for (auto& [name, field] : headers)
            if (w == name) {
                auto t = arg("a string");
                if (!t) return t.error();
                k.op = Op::header, k.field = field, k.text = *t;
                return k;
            }
        if (w == "HEADER") {
            auto f = arg("a field name");
            if (!f) return f.error();
            auto t = arg("a string");
            if (!t) return t.error();
            if (f->empty() || f->find_first_of(": \t\r\n") != std::string::npos) return bad("invalid header field name");
            k.op = Op::header, k.field = ascii_upper(*f), k.text = *t;
            return k;
        }
        if (w == "BODY" || w == "TEXT") {
            auto t = arg("a string");
            if (!t) return t.error();
            k.op = w == "BODY" ? Op::body : Op::text, k.text = *t;
            return k;
        }
        if (w == "NOT") {
            if (i >= a.size()) return bad("NOT needs a key");
            auto c = key(a, i, depth + 1);
            if (!c) return c.error();
            k.op = Op::not_;
            k.children.push_back(std::move(*c));
            return k;
        }
        if (w == "OR") {
            k.op = Op::or_;
            for (int n = 0; n < 2; n++) {
                if (i >= a.size()) return bad("OR needs two keys");
                auto c = key(a, i, depth + 1);
                if (!c) return c.error();
                k.children.push_back(std::move(*c));
            }
            return k;
        }
        if (w == "UID") {
            auto s = arg("a sequence set");
            if (!s) return s.error();
            auto set = parse_sequence_set(*s);
            if (!set) return set.error();
            k.op = Op::uid, k.set = std::move(*set);
            return k;
        }
        auto set = parse_sequence_set(v.text);
        if (!set) return bad("unknown search key " + w.substr(0, 40));
        k.op = Op::sequence, k.set = std::move(*set);
        return k;
    }

    const std::vector<Value>& a_;
    size_t i_ = 0;
    size_t keys_ = 0;
};

} // namespace

int64_t parse_search_date(std::string_view s) {
    static const char* const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                         "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    size_t d1 = s.find('-');
    size_t d2 = d1 == std::string_view::npos ? d1 : s.find('-', d1 + 1);
    if (d2 == std::string_view::npos || d1 == 0 || d1 > 2 || d2 - d1 != 4 || s.size() - d2 != 5) return -1;
    int day = 0, year = 0, mon = -1;
    for (char c : s.substr(0, d1)) {
        if (c < '0' || c > '9') return -1;
        day = day * 10 + (c - '0');
    }
    for (char c : s.substr(d2 + 1)) {
        if (c < '0' || c > '9') return -1;
        year = year * 10 + (c - '0');
    }
    std::string m = ascii_upper(s.substr(d1 + 1, 3));
    for (int k = 0; k < 12; k++)
        if (m == months[k]) mon = k;
    static const int days_in[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 0 || day < 1 || day > days_in[mon] || year < 1900) return -1;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (mon == 1 && day == 29 && !leap) return -1;
    std::tm tm{};
    tm.tm_year = year - 1900, tm.tm_mon = mon, tm.tm_mday = day;
    return timegm(&tm);
}

Result<SearchProgram> parse_search(const std::vector<Value>& args) { return Parser(args).program(); }

} // namespace mail::imap

namespace mail::imap {

namespace {

// [day-of-week ","] day month year [time [zone]]: up to five tokens after
// the comma; the first three checked, the day as written at 00:00 UTC.
int64_t date_tokens(std::string_view s, std::vector<std::string>& tok) {
    std::string t(s);
    if (auto comma = t.find(','); comma != std::string::npos) t = t.substr(comma + 1);
    for (char& c : t)
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    for (size_t i = 0; i < t.size() && tok.size() < 5;) {
        size_t j = t.find(' ', i);
        if (j == std::string::npos) j = t.size();
        if (j > i) tok.push_back(t.substr(i, j - i));
        i = j + 1;
    }
    if (tok.size() < 3 || tok[0].size() > 2 || tok[1].size() != 3) return -1;
    std::string year = tok[2];
    if (year.size() == 2) year = (year < "50" ? "20" : "19") + year; // RFC 5322 4.3
    std::string day = tok[0].size() == 1 ? "0" + tok[0] : tok[0];
    return parse_search_date(day + "-" + tok[1] + "-" + year);
}

} // namespace

int64_t header_date_day(std::string_view s) {
    std::vector<std::string> tok;
    return date_tokens(s, tok);
}

int64_t header_date_time(std::string_view s) {
    std::vector<std::string> tok;
    int64_t day = date_tokens(s, tok);
    if (day < 0) return -1;
    int h = 0, m = 0, sec = 0;
    if (tok.size() >= 4) {
        int n = std::sscanf(tok[3].c_str(), "%2d:%2d:%2d", &h, &m, &sec);
        if (n < 2 || h > 23 || m > 59 || sec > 60) return -1;
    }
    int64_t zone = 0; // seconds east of UTC
    if (tok.size() >= 5) {
        const std::string& z = tok[4];
        static const std::pair<const char*, int> names[] = {{"EDT", -4}, {"EST", -5}, {"CDT", -5}, {"CST", -6},
                                                            {"MDT", -6}, {"MST", -7}, {"PDT", -7}, {"PST", -8}};
        if ((z[0] == '+' || z[0] == '-') && z.size() == 5 && std::all_of(z.begin() + 1, z.end(), ::isdigit))
            zone = (z[0] == '-' ? -1 : 1) * (std::stoi(z.substr(1, 2)) * 3600 + std::stoi(z.substr(3, 2)) * 60);
        else
            for (auto [name, hours] : names)
                if (iequals(z, name)) zone = hours * 3600;
    }
    return day + h * 3600 + m * 60 + sec - zone;
}

std::string base_subject(std::string_view subject) {
    // (1) decoded, white space runs as one space
    std::string s;
    for (char c : mime::decode_words(subject)) {
        bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (ws && (s.empty() || s.back() == ' ')) continue;
        s += ws ? ' ' : c;
    }
    auto blob_end = [&](size_t i) -> size_t { // "[" *BLOBCHAR "]" *WSP at i; npos if none
        if (i >= s.size() || s[i] != '[') return std::string::npos;
        size_t e = s.find_first_of("[]", i + 1);
        if (e == std::string::npos || s[e] != ']') return std::string::npos;
        e++;
        while (e < s.size() && s[e] == ' ') e++;
        return e;
    };
    for (;;) {
        // (2) trailers: "(fwd)" and white space
        for (bool again = true; again;) {
            again = false;
            while (!s.empty() && s.back() == ' ') s.pop_back(), again = true;
            if (s.size() >= 5 && iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) s.resize(s.size() - 5), again = true;
        }
        // (3)-(5) leaders: white space, "re", "fw", "fwd" with blobs and ":"; blobs
        for (bool again = true; again;) {
            again = false;
            size_t i = 0;
            while (i < s.size() && s[i] == ' ') i++;
            size_t j = i;
            while (blob_end(j) != std::string::npos) j = blob_end(j);
            size_t k = j;
            if (s.size() - k >= 2 && iequals(std::string_view(s).substr(k, 2), "re")) k += 2;
            else if (s.size() - k >= 3 && iequals(std::string_view(s).substr(k, 3), "fwd")) k += 3;
            else if (s.size() - k >= 2 && iequals(std::string_view(s).substr(k, 2), "fw")) k += 2;
            if (k > j) {
                while (k < s.size() && s[k] == ' ') k++;
                if (blob_end(k) != std::string::npos) k = blob_end(k);
                if (k < s.size() && s[k] == ':') {
                    s.erase(0, k + 1), again = true;
                    continue;
                }
            }
            if (i > 0) s.erase(0, i), again = true;
            // a leading blob goes when something is left after it
            if (size_t e = blob_end(0); e != std::string::npos && e < s.size()) s.erase(0, e), again = true;
        }
        // (6) "[fwd: ... ]"
        if (s.size() >= 6 && iequals(std::string_view(s).substr(0, 5), "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            continue;
        }
        return s;
    }
}

bool ReturnOptions::wants(std::string_view w) const { return std::find(want.begin(), want.end(), w) != want.end(); }

Result<ReturnOptions> parse_return_options(const Value& list) {
    if (list.kind != Value::Kind::list) return bad("RETURN needs a list");
    ReturnOptions out;
    for (size_t i = 0; i < list.items.size(); i++) {
        const Value& o = list.items[i];
        std::string w = ascii_upper(o.text);
        if (o.kind != Value::Kind::atom) return bad("RETURN options are atoms");
        if (w == "CONTEXT") continue; // a hint (RFC 5267 4.2)
        if (w == "UPDATE") {
            out.update = true;
            continue;
        }
        if (w == "PARTIAL") { // PARTIAL low:high, in either order, no "*" (RFC 5267 4.4)
            if (++i >= list.items.size()) return bad("PARTIAL needs a range");
            auto set = parse_sequence_set(list.items[i].kind == Value::Kind::atom ? list.items[i].text : "");
            if (!set || set->saved || set->ranges.size() != 1 || list.items[i].text.find(':') == std::string::npos ||
                !set->ranges[0].first || !set->ranges[0].second)
                return bad("PARTIAL range is n:m");
            auto [a, b] = set->ranges[0];
            out.partial = {std::min(a, b), std::max(a, b)};
        } else if (w != "MIN" && w != "MAX" && w != "ALL" && w != "COUNT" && w != "SAVE") {
            return bad("unknown RETURN option " + o.text.substr(0, 40));
        }
        if (out.wants(w)) return bad("RETURN option " + w + " given twice");
        out.want.push_back(w);
    }
    if (out.wants("ALL") && out.wants("PARTIAL")) return bad("RETURN takes ALL or PARTIAL, not both");
    if (list.items.empty()) out.want.push_back("ALL");
    return out;
}

Result<std::vector<SortKey>> parse_sort_criteria(const Value& v) {
    using B = SortKey::By;
    static const std::pair<const char*, B> names[] = {{"ARRIVAL", B::arrival}, {"CC", B::cc},     {"DATE", B::date},
                                                      {"FROM", B::from},       {"SIZE", B::size}, {"SUBJECT", B::subject},
                                                      {"TO", B::to},           {"DISPLAYFROM", B::display_from},
                                                      {"DISPLAYTO", B::display_to}};
    if (v.kind != Value::Kind::list || v.items.empty()) return bad("SORT criteria are a list");
    std::vector<SortKey> out;
    bool reverse = false;
    for (auto& item : v.items) {
        if (item.is("REVERSE") && !reverse) {
            reverse = true;
            continue;
        }
        auto it = std::find_if(std::begin(names), std::end(names), [&](auto& n) { return item.is(n.first); });
        if (it == std::end(names)) return bad("unknown SORT criterion " + item.text);
        out.push_back(SortKey{it->second, reverse});
        reverse = false;
    }
    if (reverse) return bad("REVERSE without a criterion");
    return out;
}

} // namespace mail::imap
