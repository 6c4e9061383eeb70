#include "search.hpp"

#include <ctime>

#include "message/address.hpp"

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
            if (!more() || a_[i_].kind != Value::Kind::list) return bad("RETURN needs a list");
            for (auto& o : a_[i_].items) {
                std::string w = ascii_upper(o.text);
                if (o.kind != Value::Kind::atom || (w != "MIN" && w != "MAX" && w != "ALL" && w != "COUNT" && w != "SAVE"))
                    return bad("unknown RETURN option " + single(o));
                p.returns.push_back(w);
            }
            p.esearch = true;
            if (p.returns.empty()) p.returns.push_back("ALL");
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

int64_t header_date_day(std::string_view s) {
    // [day-of-week ","] day month year ...: the three tokens after the comma
    std::string t(s);
    if (auto comma = t.find(','); comma != std::string::npos) t = t.substr(comma + 1);
    for (char& c : t)
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    std::vector<std::string> tok;
    for (size_t i = 0; i < t.size() && tok.size() < 3;) {
        size_t j = t.find(' ', i);
        if (j == std::string::npos) j = t.size();
        if (j > i) tok.push_back(t.substr(i, j - i));
        i = j + 1;
    }
    if (tok.size() < 3 || tok[0].size() > 2 || tok[1].size() != 3) return -1;
    std::string year = tok[2];
    if (year.size() == 2) year = (year < "50" ? "20" : "19") + year; // RFC 5322 4.3
    if (tok[0].size() == 1) tok[0] = "0" + tok[0];
    return parse_search_date(tok[0] + "-" + tok[1] + "-" + year);
}

} // namespace mail::imap
