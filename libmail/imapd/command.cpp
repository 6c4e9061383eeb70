#include "command.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <variant>

#include "message/address.hpp"

namespace mail::imap {

namespace {

bool atom_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' &&
           c != '\\' && c != ']';
}

Error bad(std::string why) { return make_error(Errc::data, std::move(why)); }

// "123" -> 123 (1 .. 2^32-1); 0 when not a number.
uint32_t nz_number(std::string_view s) {
    if (s.empty() || s.size() > 10 || s[0] == '0') return 0;
    uint64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n <= 0xffffffffull ? static_cast<uint32_t>(n) : 0;
}

Result<uint64_t> number64(std::string_view s) {
    if (s.empty() || s.size() > 19) return bad("bad number");
    uint64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return bad("bad number");
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
}

// "[1.2.HEADER.FIELDS (A B)]<0.100>" after "BODY" or "BINARY".
Status parse_section(std::string_view spec, FetchItem& item, bool binary) {
    if (spec.empty() || spec[0] != '[') return bad("missing section");
    size_t close = spec.find(']');
    if (close == std::string_view::npos) return bad("unterminated section");
    std::string_view inside = spec.substr(1, close - 1);
    std::string_view after = spec.substr(close + 1);
    // The part numbers.
    while (!inside.empty() && inside[0] >= '0' && inside[0] <= '9') {
        size_t dot = inside.find('.');
        std::string_view num = inside.substr(0, dot);
        uint32_t n = nz_number(num);
        if (!n) return bad("bad section part");
        if (item.section.part.size() >= 100) return bad("section too deep");
        item.section.part.push_back(n);
        inside = dot == std::string_view::npos ? std::string_view{} : inside.substr(dot + 1);
        if (dot != std::string_view::npos && inside.empty()) return bad("bad section part");
    }
    if (!inside.empty()) {
        if (binary) return bad("BINARY takes part numbers only");
        std::string text = ascii_upper(inside.substr(0, inside.find(' ')));
        if (text == "HEADER" || text == "TEXT" || (text == "MIME" && !item.section.part.empty())) {
            if (text.size() != inside.size()) return bad("unexpected text in section");
            item.section.text = text;
        } else if (text == "HEADER.FIELDS" || text == "HEADER.FIELDS.NOT") {
            item.section.text = text;
            std::string_view rest = inside.substr(text.size());
            if (rest.size() < 4 || rest[0] != ' ' || rest[1] != '(' || rest.back() != ')')
                return bad("HEADER.FIELDS needs a list of field names");
            rest = rest.substr(2, rest.size() - 3);
            for (size_t p = 0; p <= rest.size();) {
                size_t sp = rest.find(' ', p);
                if (sp == std::string_view::npos) sp = rest.size();
                std::string_view f = rest.substr(p, sp - p);
                if (!f.empty()) {
                    if (f.front() == '"' && f.size() >= 2 && f.back() == '"') f = f.substr(1, f.size() - 2);
                    if (f.empty() || !std::all_of(f.begin(), f.end(), [](char c) {
                            return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f && c != ':';
                        }))
                        return bad("bad header field name");
                    if (item.section.fields.size() >= 1000) return bad("too many header fields");
                    item.section.fields.push_back(ascii_upper(f));
                }
                p = sp + 1;
            }
            if (item.section.fields.empty()) return bad("HEADER.FIELDS needs a list of field names");
        } else {
            return bad("unknown section text " + text);
        }
    }
    if (!after.empty()) {
        if (after.front() != '<' || after.back() != '>') return bad("bad partial");
        std::string_view p = after.substr(1, after.size() - 2);
        size_t dot = p.find('.');
        if (dot == std::string_view::npos) return bad("partial needs <offset.length>");
        auto off = number64(p.substr(0, dot));
        auto len = number64(p.substr(dot + 1));
        if (!off || !len || *len == 0) return bad("bad partial");
        item.partial = std::make_pair(*off, *len);
    }
    return {};
}

Result<FetchItem> fetch_item(std::string_view atom) {
    using K = FetchItem::Kind;
    std::string word = ascii_upper(atom.substr(0, atom.find('[')));
    std::string_view spec = atom.substr(std::min(atom.size(), word.size()));
    FetchItem item{K::flags, {}, false, std::nullopt};
    static const std::pair<const char*, K> simple[] = {
        {"FLAGS", K::flags},           {"UID", K::uid},
        {"INTERNALDATE", K::internaldate}, {"RFC822.SIZE", K::rfc822_size},
        {"ENVELOPE", K::envelope},     {"BODYSTRUCTURE", K::bodystructure},
        {"RFC822", K::rfc822},         {"RFC822.HEADER", K::rfc822_header},
        {"RFC822.TEXT", K::rfc822_text}, {"MODSEQ", K::modseq},
    };
    if (spec.empty()) {
        for (auto& [name, kind] : simple)
            if (word == name) return FetchItem{kind, {}, false, std::nullopt};
        if (word == "BODY") return FetchItem{K::body, {}, false, std::nullopt};
        return bad("unknown FETCH item " + word);
    }
    if (word == "BODY" || word == "BODY.PEEK") item.kind = K::body_section;
    else if (word == "BINARY" || word == "BINARY.PEEK") item.kind = K::binary;
    else if (word == "BINARY.SIZE") item.kind = K::binary_size;
    else return bad("unknown FETCH item " + word);
    item.peek = word.ends_with(".PEEK");
    MAIL_TRY(parse_section(spec, item, item.kind != K::body_section));
    if (item.kind == K::binary_size && item.partial) return bad("BINARY.SIZE takes no partial");
    return item;
}

} // namespace

std::variant<Command, CommandError> parse_command(std::string_view wire) {
    size_t sp = wire.find(' ');
    size_t eol = wire.find("\r\n");
    std::string_view tag = wire.substr(0, std::min(sp, eol));
    if (tag.empty() || tag.size() > 64 || tag.find('+') != std::string_view::npos ||
        !std::all_of(tag.begin(), tag.end(), atom_char))
        return CommandError{"", "invalid tag"};
    Command c;
    c.tag = std::string(tag);
    if (sp == std::string_view::npos || sp > eol) return CommandError{c.tag, "missing command"};
    size_t pos = sp + 1;
    auto name_at = [&](size_t& p) {
        size_t s = p;
        while (p < wire.size() && ((wire[p] >= 'A' && wire[p] <= 'Z') || (wire[p] >= 'a' && wire[p] <= 'z'))) p++;
        return ascii_upper(wire.substr(s, p - s));
    };
    c.name = name_at(pos);
    if (c.name.empty() || (pos < wire.size() && wire[pos] != ' ' && wire[pos] != '\r'))
        return CommandError{c.tag, "invalid command name"};
    if (c.name == "UID") {
        if (pos >= wire.size() || wire[pos] != ' ') return CommandError{c.tag, "UID needs a command"};
        pos++;
        c.uid = true;
        c.name = name_at(pos);
        static const char* const with_uid[] = {"FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE", "SORT", "THREAD"};
        if (std::none_of(std::begin(with_uid), std::end(with_uid), [&](const char* n) { return c.name == n; }))
            return CommandError{c.tag, "UID " + c.name + " is not a command"};
    }
    auto args = parse_values(wire, pos);
    if (!args) return CommandError{c.tag, args.error().user};
    if (pos < wire.size()) return CommandError{c.tag, "text after the command"};
    c.args = std::move(*args);
    return c;
}

bool SequenceSet::contains(uint32_t n, uint32_t largest) const {
    for (auto [a, b] : ranges) {
        uint32_t lo = a ? a : largest, hi = b ? b : largest;
        if (lo > hi) std::swap(lo, hi);
        if (n >= lo && n <= hi) return true;
    }
    return false;
}

Result<SequenceSet> parse_sequence_set(std::string_view text) {
    SequenceSet s;
    if (text == "$") {
        s.saved = true;
        return s;
    }
    if (text.empty()) return bad("empty sequence set");
    for (size_t p = 0; p <= text.size();) {
        size_t comma = text.find(',', p);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view item = text.substr(p, comma - p);
        size_t colon = item.find(':');
        auto one = [](std::string_view v) -> int64_t {
            if (v == "*") return 0;
            uint32_t n = nz_number(v);
            return n ? static_cast<int64_t>(n) : int64_t{-1};
        };
        int64_t a = one(item.substr(0, colon));
        int64_t b = colon == std::string_view::npos ? a : one(item.substr(colon + 1));
        if (a < 0 || b < 0) return bad("invalid sequence set");
        if (s.ranges.size() >= 100000) return bad("sequence set too long");
        s.ranges.emplace_back(static_cast<uint32_t>(a), static_cast<uint32_t>(b));
        p = comma + 1;
    }
    return s;
}

std::string FetchItem::name() const {
    using K = Kind;
    switch (kind) {
    case K::flags: return "FLAGS";
    case K::uid: return "UID";
    case K::internaldate: return "INTERNALDATE";
    case K::rfc822_size: return "RFC822.SIZE";
    case K::envelope: return "ENVELOPE";
    case K::bodystructure: return "BODYSTRUCTURE";
    case K::body: return "BODY";
    case K::rfc822: return "RFC822";
    case K::rfc822_header: return "RFC822.HEADER";
    case K::rfc822_text: return "RFC822.TEXT";
    case K::modseq: return "MODSEQ";
    default: break;
    }
    std::string out = kind == K::body_section ? "BODY[" : kind == K::binary ? "BINARY[" : "BINARY.SIZE[";
    for (size_t i = 0; i < section.part.size(); i++) out += (i ? "." : "") + std::to_string(section.part[i]);
    if (!section.text.empty()) out += (section.part.empty() ? "" : ".") + section.text;
    if (!section.fields.empty()) {
        out += " (";
        for (size_t i = 0; i < section.fields.size(); i++) out += (i ? " " : "") + section.fields[i];
        out += ")";
    }
    out += "]";
    // The response names the origin only (RFC 3501 7.4.2).
    if (partial) out += "<" + std::to_string(partial->first) + ">";
    return out;
}

Result<std::vector<FetchItem>> parse_fetch_items(const Value& v) {
    using K = FetchItem::Kind;
    std::vector<FetchItem> out;
    auto add = [&](K k) { out.push_back(FetchItem{k, {}, false, std::nullopt}); };
    if (v.kind == Value::Kind::atom) {
        std::string w = ascii_upper(v.text);
        if (w == "ALL" || w == "FAST" || w == "FULL") {
            add(K::flags), add(K::internaldate), add(K::rfc822_size);
            if (w != "FAST") add(K::envelope);
            if (w == "FULL") add(K::body);
            return out;
        }
        auto item = fetch_item(v.text);
        if (!item) return item.error();
        out.push_back(std::move(*item));
        return out;
    }
    if (v.kind != Value::Kind::list || v.items.empty()) return bad("FETCH needs items");
    if (v.items.size() > 100) return bad("too many FETCH items");
    for (auto& i : v.items) {
        if (i.kind != Value::Kind::atom) return bad("bad FETCH item");
        std::string w = ascii_upper(i.text);
        if (w == "ALL" || w == "FAST" || w == "FULL") return bad(w + " is not allowed in a list");
        auto item = fetch_item(i.text);
        if (!item) return item.error();
        // Each item is answered once (FLAGS FLAGS); BODY[] with BODY.PEEK[]
        // is one item that sets \Seen.
        auto same = std::find_if(out.begin(), out.end(), [&](auto& o) { return o.name() == item->name(); });
        if (same != out.end()) same->peek = same->peek && item->peek;
        else out.push_back(std::move(*item));
    }
    return out;
}

} // namespace mail::imap
