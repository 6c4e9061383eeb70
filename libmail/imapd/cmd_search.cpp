// SEARCH (ESEARCH, SEARCHRES, MODSEQ) and SORT (ESORT), and the searches
// followed with RETURN (UPDATE) (CONTEXT=SEARCH, CONTEXT=SORT): text keys
// through the index's trigram search, the rest on the session's view.
#include "session.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <functional>

#include "base/log.hpp"
#include "imapd/search.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"

namespace mail::imap {

namespace {

// Unfolded "Name: value" lines of the decoded header text: whether a
// field named `field` contains `needle` (already folded).
bool field_contains(std::string_view hdr, std::string_view field, std::string_view needle) {
    for (size_t i = 0; i < hdr.size();) {
        size_t nl = hdr.find('\n', i);
        if (nl == std::string_view::npos) nl = hdr.size();
        std::string_view line = hdr.substr(i, nl - i);
        i = nl + 1;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || !iequals(line.substr(0, colon), field)) continue;
        std::string value(line.substr(colon + 1));
        bool addresses = iequals(field, "FROM") || iequals(field, "TO") || iequals(field, "CC") || iequals(field, "BCC");
        if (addresses) value += address_forms(value);
        if (needle.empty() || fold(value).find(needle) != std::string::npos) return true;
    }
    return false;
}

} // namespace

// ---- SEARCH ------------------------------------------------------------------------

namespace {

bool uses(const SearchKey& k, SearchKey::Op op) {
    if (k.op == op) return true;
    return std::any_of(k.children.begin(), k.children.end(), [&](auto& ch) { return uses(ch, op); });
}

struct SearchData {
    std::map<const SearchKey*, std::set<int64_t>> text; // header/body/text keys: matching UIDs
    std::map<int64_t, uint64_t> sizes;
    std::map<int64_t, int64_t> sent_days;
};

bool has_flag(const Msg& m, const std::string& f) {
    static const std::pair<const char*, char> system[] = {
        {"\\SEEN", 'S'}, {"\\ANSWERED", 'R'}, {"\\FLAGGED", 'F'}, {"\\DELETED", 'T'}, {"\\DRAFT", 'D'}};
    std::string u = ascii_upper(f);
    for (auto [n, l] : system)
        if (u == n) return m.flags.find(l) != std::string::npos;
    if (u == "\\RECENT") return m.recent;
    auto kw = split_keywords(m.keywords);
    return std::any_of(kw.begin(), kw.end(), [&](auto& k) { return iequals(k, f); });
}

bool eval(const SearchKey& k, const Msg& m, size_t seq, size_t count, const SearchData& d) {
    using O = SearchKey::Op;
    int64_t day = m.internaldate - (m.internaldate % 86400 + 86400) % 86400;
    switch (k.op) {
    case O::all: return true;
    case O::and_:
        return std::all_of(k.children.begin(), k.children.end(), [&](auto& c) { return eval(c, m, seq, count, d); });
    case O::or_: return eval(k.children[0], m, seq, count, d) || eval(k.children[1], m, seq, count, d);
    case O::not_: return !eval(k.children[0], m, seq, count, d);
    case O::flag: return has_flag(m, k.text);
    case O::recent: return m.recent;
    case O::before: return day < k.number;
    case O::on: return day == k.number;
    case O::since: return day >= k.number;
    case O::sent_before:
    case O::sent_on:
    case O::sent_since: {
        auto it = d.sent_days.find(m.uid);
        if (it == d.sent_days.end() || it->second < 0) return false;
        return k.op == O::sent_before ? it->second < k.number : k.op == O::sent_on ? it->second == k.number : it->second >= k.number;
    }
    case O::larger:
    case O::smaller: {
        auto it = d.sizes.find(m.uid);
        if (it == d.sizes.end()) return false;
        return k.op == O::larger ? it->second > static_cast<uint64_t>(k.number) : it->second < static_cast<uint64_t>(k.number);
    }
    case O::header:
    case O::body:
    case O::text: {
        auto it = d.text.find(&k);
        return it != d.text.end() && it->second.count(m.uid);
    }
    case O::sequence: return k.set.contains(static_cast<uint32_t>(seq), static_cast<uint32_t>(count));
    case O::uid: return false; // resolved by the caller (needs the largest UID)
    case O::modseq: return m.modseq >= k.number;
    }
    return false;
}

} // namespace

// The UIDs matching each text key (HEADER, BODY, TEXT, FROM ...): the
// decoded text cached in index.sqlite (FTS5 trigrams); needles shorter
// than 3 characters are looked for in that text directly.
Result<std::map<const SearchKey*, std::set<int64_t>>> Session::text_matches(const SearchKey& root) {
    std::map<const SearchKey*, std::set<int64_t>> found_by;
    auto& msgs = sel_->msgs;
    std::vector<const SearchKey*> text_keys;
    std::function<void(const SearchKey&)> collect = [&](const SearchKey& k) {
        if (k.op == SearchKey::Op::header || k.op == SearchKey::Op::body || k.op == SearchKey::Op::text) text_keys.push_back(&k);
        for (auto& ch : k.children) collect(ch);
    };
    collect(root);
    // At most 2 s filling the text cache per command; messages still
    // without it are searched in their files.
    std::set<int64_t> missing;
    if (!text_keys.empty()) {
        auto m = index_text(*index_, *sel_, 2000);
        if (!m) return m.error();
        missing = std::move(*m);
    }
    auto matches = [](const SearchKey& k, const std::string& needle, std::string_view hdr, std::string_view body) {
        if (k.op == SearchKey::Op::header) return field_contains(hdr, k.field, needle);
        if (k.op == SearchKey::Op::body) return fold(body).find(needle) != std::string::npos;
        return fold(hdr).find(needle) != std::string::npos || fold(body).find(needle) != std::string::npos;
    };
    std::vector<std::string> needles;
    for (const SearchKey* k : text_keys) {
        needles.push_back(fold(k->text));
        TextColumn column = k->op == SearchKey::Op::header ? TextColumn::header
                          : k->op == SearchKey::Op::body ? TextColumn::body : TextColumn::any;
        std::set<int64_t>& found = found_by[k];
        if (auto field = indexed_field(k->field); k->op == SearchKey::Op::header && field) { // FROM, SUBJECT ...: their own column
            auto f = index_->field_search(sel_->state.id, *field, needles.back());
            if (!f) return f.error();
            found = std::move(*f);
            continue;
        }
        // candidates from the trigram index, each verified on its text
        MAIL_TRY(index_->text_rows(sel_->state.id, column, needles.back(),
                           [&](int64_t uid, std::string_view hdr, std::string_view body) {
                               if (matches(*k, needles.back(), hdr, body)) found.insert(uid);
                           }));
    }
    for (int64_t uid : missing) {
        size_t seq = sel_->seq_of(uid);
        if (!seq) continue;
        auto map = sel_->map_file(msgs[seq - 1]);
        if (!map || !*map) continue;
        SearchText t = search_text((*map)->view());
        for (size_t i = 0; i < text_keys.size(); i++)
            if (matches(*text_keys[i], needles[i], t.header, t.body)) found_by[text_keys[i]].insert(uid);
    }
    return found_by;
}

Result<std::vector<size_t>> Session::search(SearchProgram& p) {
    SearchData d;
    auto& msgs = sel_->msgs;
    auto text = text_matches(p.root);
    if (!text) return text.error();
    d.text = std::move(*text);
    if (uses(p.root, SearchKey::Op::larger) || uses(p.root, SearchKey::Op::smaller)) {
        std::vector<const Msg*> all;
        for (auto& m : msgs) all.push_back(&m);
        auto rows = cache_rows(*index_, *sel_, all);
        if (!rows) return rows.error();
        for (auto& [uid, r] : *rows) d.sizes[uid] = r.size;
    }
    if (uses(p.root, SearchKey::Op::sent_before) || uses(p.root, SearchKey::Op::sent_on) ||
        uses(p.root, SearchKey::Op::sent_since)) {
        auto dates = index_->cached_dates(sel_->state.id);
        if (!dates) return dates.error();
        for (auto& [uid, date] : *dates) d.sent_days[uid] = header_date_day(date);
    }
    // UID keys: "*" is the largest UID; rewritten as a sequence test on UIDs.
    int64_t largest = msgs.empty() ? 0 : msgs.back().uid;
    std::function<bool(const SearchKey&, const Msg&, size_t)> run = [&](const SearchKey& k, const Msg& m, size_t seq) -> bool {
        using O = SearchKey::Op;
        if (k.op == O::uid) {
            if (k.set.saved) return std::find(saved_.begin(), saved_.end(), m.uid) != saved_.end();
            return k.set.contains(static_cast<uint32_t>(m.uid), static_cast<uint32_t>(largest));
        }
        if (k.op == O::sequence && k.set.saved) return std::find(saved_.begin(), saved_.end(), m.uid) != saved_.end();
        if (k.op == O::and_)
            return std::all_of(k.children.begin(), k.children.end(), [&](auto& ch) { return run(ch, m, seq); });
        if (k.op == O::or_) return run(k.children[0], m, seq) || run(k.children[1], m, seq);
        if (k.op == O::not_) return !run(k.children[0], m, seq);
        return eval(k, m, seq, msgs.size(), d);
    };
    std::vector<size_t> out;
    for (size_t i = 0; i < msgs.size(); i++)
        if (!msgs[i].gone && run(p.root, msgs[i], i + 1)) out.push_back(i + 1);
    return out;
}

namespace {

// The ESEARCH response to RETURN (...) of SEARCH or SORT, without its end:
// `values` in the order of the result (for SORT, its order: MIN and MAX are
// its first and last, ALL keeps the order, RFC 5267 3.1 and 3.2; PARTIAL
// the results at those positions, RFC 5267 4.4).
std::string esearch_response(const Command& c, const ReturnOptions& r, const std::vector<int64_t>& values) {
    std::string out = fmt::format("* ESEARCH (TAG {}){}", string_value(c.tag), c.uid ? " UID" : "");
    for (auto& w : r.want) {
        if (w == "PARTIAL") {
            auto [low, high] = r.partial;
            std::vector<int64_t> part;
            for (size_t i = low; i <= high && i <= values.size(); i++) part.push_back(values[i - 1]);
            out += fmt::format(" PARTIAL ({}:{} {})", low, high, part.empty() ? "NIL" : uid_set(part));
        }
        if (values.empty() && w != "COUNT") continue;
        if (w == "MIN") out += fmt::format(" MIN {}", values.front());
        else if (w == "MAX") out += fmt::format(" MAX {}", values.back());
        else if (w == "COUNT") out += fmt::format(" COUNT {}", values.size());
        else if (w == "ALL") out += " ALL " + uid_set(values);
    }
    return out;
}

} // namespace

// A RETURN (UPDATE) search: followed from now on (RFC 5267 4.3), unless
// the session follows too many already (NO [NOUPDATE], the rest of the
// command still done).
void Session::follow(const Command& c, const SearchProgram& p, const std::vector<SortKey>& sort,
                     const std::vector<size_t>& found) {
    if (sel_->contexts.size() >= max_contexts) {
        io_.write(fmt::format("* NO [NOUPDATE {}] {} searches followed already\r\n", string_value(c.tag), max_contexts));
        return;
    }
    SearchContext ctx{c.tag, c.uid, p, sort, saved_, {}};
    for (size_t seq : found) ctx.result.push_back(sel_->msgs[seq - 1].uid);
    sel_->contexts.push_back(std::move(ctx));
    contexts_mark_ = view_mark();
}

// A tag already naming a followed search cannot start another (RFC 5267
// 4.3): BAD, true.
bool Session::tag_in_use(const Command& c) {
    bool used = std::any_of(sel_->contexts.begin(), sel_->contexts.end(), [&](auto& x) { return x.tag == c.tag; });
    if (used) bad(c, "tag in use by a search with UPDATE: use another tag");
    return used;
}

// What the result of a search can depend on: the messages, their flags
// (every change a new MODSEQ) and the expunges not yet told.
std::array<int64_t, 4> Session::view_mark() const {
    int64_t modseq = 0, gone = 0;
    for (auto& m : sel_->msgs) modseq = std::max(modseq, m.modseq), gone += m.gone;
    return {static_cast<int64_t>(sel_->msgs.size()), sel_->msgs.empty() ? 0 : sel_->msgs.back().uid, modseq, gone};
}

// After each command and in IDLE: the changes of every followed search's
// result, as ADDTO and REMOVEFROM (after the EXISTS that numbers new
// messages; the expunged left before their EXPUNGE, Selected::expunge).
void Session::update_contexts() {
    if (sel_->contexts.empty()) return;
    auto mark = view_mark();
    if (mark == contexts_mark_) return;
    contexts_mark_ = mark;
    std::vector<int64_t> saved = saved_;
    for (auto& ctx : sel_->contexts) {
        saved_ = ctx.saved; // "$" as it was when the search was made
        SearchProgram p = ctx.program;
        auto found = search(p);
        if (found && !ctx.sort.empty()) found = sort_found(*found, ctx.sort);
        if (!found) {
            log::error("imapd.context", found.error());
            continue;
        }
        std::vector<int64_t> now;
        for (size_t seq : *found) now.push_back(sel_->msgs[seq - 1].uid);
        if (std::string data = result_changes(ctx, now, sel_->shown_as(ctx)); !data.empty())
            io_.write(sel_->context_response(ctx, data));
    }
    saved_ = std::move(saved);
}

void Session::cmd_cancelupdate(const Command& c) {
    // CANCELUPDATE "tag" ... (RFC 5267 4.3.5)
    if (c.args.empty()) return bad(c, "CANCELUPDATE \"tag\" ...");
    for (auto& a : c.args)
        if (a.kind == Value::Kind::list) return bad(c, "CANCELUPDATE takes the tags of searches");
    for (auto& a : c.args) {
        auto it = std::find_if(sel_->contexts.begin(), sel_->contexts.end(), [&](auto& x) { return x.tag == a.text; });
        if (it == sel_->contexts.end()) return no(c, "no search with UPDATE has the tag " + a.text.substr(0, 40));
    }
    for (auto& a : c.args)
        std::erase_if(sel_->contexts, [&](auto& x) { return x.tag == a.text; });
    ok(c, "CANCELUPDATE completed");
}

void Session::cmd_search(const Command& c) {
    auto p = parse_search(c.args);
    if (!p) { // an unknown charset is NO, not BAD (RFC 3501 6.4.4)
        if (p.error().user.starts_with("[BADCHARSET")) return no(c, p.error().user);
        return bad(c, p.error().user);
    }
    if (p->returns.update && tag_in_use(c)) return;
    bool modseq = uses(p->root, SearchKey::Op::modseq);
    if (modseq) enable_condstore();
    if (rev2_) p->esearch = true; // IMAP4rev2 answers ESEARCH only (RFC 9051 6.4.4): RETURN (ALL) by default
    auto found = search(*p);
    if (!found) return fail(c, found.error());
    std::vector<int64_t> values;
    for (size_t seq : *found) values.push_back(c.uid ? sel_->msgs[seq - 1].uid : static_cast<int64_t>(seq));
    if (p->returns.update) follow(c, *p, {}, *found);
    bool save = p->returns.wants("SAVE");
    if (save) {
        saved_.clear();
        for (size_t seq : *found) saved_.push_back(sel_->msgs[seq - 1].uid);
    }
    // With a MODSEQ key, the highest MODSEQ of the messages found (RFC 7162 3.1.5).
    int64_t highest = 0;
    for (size_t seq : *found) highest = std::max(highest, sel_->msgs[seq - 1].modseq);
    std::string modseq_text = modseq && highest ? fmt::format("MODSEQ {}", highest) : "";
    if (!p->esearch) {
        std::string out = "* SEARCH";
        for (int64_t v : values) out += " " + std::to_string(v);
        if (!modseq_text.empty()) out += " (" + modseq_text + ")";
        io_.write(out + "\r\n");
        return ok(c, c.uid ? "UID SEARCH completed" : "SEARCH completed");
    }
    ReturnOptions& r = p->returns;
    if (r.want.empty() && !r.update) r.want.push_back("ALL"); // IMAP4rev2 without RETURN
    if (r.want.size() == 1 && save) return ok(c, "SEARCH completed"); // RETURN (SAVE): no ESEARCH (RFC 5182)
    std::string out = esearch_response(c, r, values);
    // RETURN (MIN) and/or (MAX) alone: the highest MODSEQ of the messages
    // returned, not of all found (RFC 4731 3.2).
    bool ends_only = std::all_of(r.want.begin(), r.want.end(), [](auto& w) { return w == "MIN" || w == "MAX" || w == "SAVE"; });
    if (modseq && ends_only && !found->empty()) {
        int64_t ends = 0;
        for (auto& w : r.want)
            if (w == "MIN" || w == "MAX") ends = std::max(ends, sel_->msgs[(w == "MIN" ? found->front() : found->back()) - 1].modseq);
        modseq_text = fmt::format("MODSEQ {}", ends);
    }
    if (!modseq_text.empty()) out += " " + modseq_text;
    io_.write(out + "\r\n");
    ok(c, c.uid ? "UID SEARCH completed" : "SEARCH completed");
}

// ---- SORT (RFC 5256) ------------------------------------------------------------

namespace {

struct SortData {
    size_t seq;
    int64_t arrival, date;
    uint64_t size;
    std::string from, to, cc, subject, display_from, display_to; // i;unicode-casemap keys
};

// The addr-mailbox of the first address of an ENVELOPE address list.
std::string first_mailbox(const Value& list) {
    if (list.kind != Value::Kind::list || list.items.empty()) return {};
    auto& a = list.items[0];
    if (a.kind != Value::Kind::list || a.items.size() < 4 || a.items[2].nil()) return {};
    return unicode_casemap(a.items[2].text);
}

// SORT=DISPLAY (RFC 5957): the display name of the first address, decoded,
// or, without one, its addr-spec (mailbox@host).
std::string first_display(const Value& list) {
    if (list.kind != Value::Kind::list || list.items.empty()) return {};
    auto& a = list.items[0];
    if (a.kind != Value::Kind::list || a.items.size() < 4) return {};
    if (!a.items[0].nil()) {
        std::string name = mime::decode_words(a.items[0].text);
        if (name.find_first_not_of(" \t") != std::string::npos) return unicode_casemap(name);
    }
    if (a.items[2].nil()) return {};
    std::string spec = a.items[2].text;
    if (!a.items[3].nil()) spec += "@" + a.items[3].text;
    return unicode_casemap(spec);
}

// The sort keys of the messages found, from the cached ENVELOPE and
// size, a batch at a time.
Result<std::vector<SortData>> sort_data(MailboxIndex& idx, const Selected& sel, const std::vector<size_t>& found) {
    std::vector<SortData> data;
    data.reserve(found.size());
    for (size_t from = 0; from < found.size(); from += 1000) {
        std::vector<const Msg*> ms;
        for (size_t k = from; k < std::min(found.size(), from + 1000); k++) ms.push_back(&sel.msgs[found[k] - 1]);
        auto rows = cache_rows(idx, sel, ms);
        if (!rows) return rows.error();
        for (size_t k = from; k < from + ms.size(); k++) {
            const Msg& m = *ms[k - from];
            SortData d{found[k], m.internaldate, m.internaldate, 0, {}, {}, {}, {}, {}, {}};
            auto it = rows->find(m.uid);
            if (it != rows->end()) {
                d.size = it->second.size;
                size_t pos = 0;
                auto env = parse_values(it->second.envelope + "\r\n", pos);
                if (env && env->size() == 1 && (*env)[0].items.size() >= 7) {
                    auto& e = (*env)[0].items;
                    if (int64_t t = e[0].nil() ? -1 : header_date_time(e[0].text); t >= 0) d.date = t;
                    d.subject = e[1].nil() ? "" : unicode_casemap(base_subject(e[1].text));
                    d.from = first_mailbox(e[2]), d.to = first_mailbox(e[5]), d.cc = first_mailbox(e[6]);
                    d.display_from = first_display(e[2]), d.display_to = first_display(e[5]);
                }
            }
            data.push_back(std::move(d));
        }
    }
    return data;
}

} // namespace

std::optional<SearchProgram> Session::charset_search(const Command& c, size_t first) {
    std::vector<Value> search_args{Value{Value::Kind::atom, "CHARSET", {}, false}};
    search_args.insert(search_args.end(), c.args.begin() + static_cast<std::ptrdiff_t>(first) + 1, c.args.end());
    auto p = parse_search(search_args);
    if (!p) { // an unknown charset is NO, not BAD
        if (p.error().user.starts_with("[BADCHARSET")) no(c, p.error().user);
        else bad(c, p.error().user);
        return std::nullopt;
    }
    if (p->esearch) return bad(c, c.name + " takes no RETURN options"), std::nullopt;
    return std::move(*p);
}

// The messages found (sequence numbers) in the order of SORT's keys.
Result<std::vector<size_t>> Session::sort_found(const std::vector<size_t>& found, const std::vector<SortKey>& keys) {
    auto data = sort_data(*index_, *sel_, found);
    if (!data) return data.error();
    auto compare = [&](const SortData& a, const SortData& b) {
        for (auto& k : keys) {
            int r = 0;
            switch (k.by) {
            case SortKey::By::arrival: r = (a.arrival > b.arrival) - (a.arrival < b.arrival); break;
            case SortKey::By::date: r = (a.date > b.date) - (a.date < b.date); break;
            case SortKey::By::size: r = (a.size > b.size) - (a.size < b.size); break;
            case SortKey::By::from: r = a.from.compare(b.from); break;
            case SortKey::By::to: r = a.to.compare(b.to); break;
            case SortKey::By::cc: r = a.cc.compare(b.cc); break;
            case SortKey::By::subject: r = a.subject.compare(b.subject); break;
            case SortKey::By::display_from: r = a.display_from.compare(b.display_from); break;
            case SortKey::By::display_to: r = a.display_to.compare(b.display_to); break;
            }
            if (r != 0) return k.reverse ? r > 0 : r < 0;
        }
        return false; // equal: sequence order (the sort is stable)
    };
    std::stable_sort(data->begin(), data->end(), compare);
    std::vector<size_t> out;
    for (auto& d : *data) out.push_back(d.seq);
    return out;
}

void Session::cmd_sort(const Command& c) {
    // SORT [RETURN (options)] (criteria) charset search-keys (ESORT, RFC 5267 3)
    size_t first = 0;
    std::optional<ReturnOptions> want;
    if (!c.args.empty() && c.args[0].is("RETURN")) {
        if (c.args.size() < 2) return bad(c, "SORT RETURN (options) (criteria) charset keys");
        auto r = parse_return_options(c.args[1]);
        if (!r) return bad(c, r.error().user);
        want = std::move(*r);
        first = 2;
    }
    if (c.args.size() < first + 3) return bad(c, "SORT (criteria) charset keys");
    auto keys = parse_sort_criteria(c.args[first]);
    if (!keys) return bad(c, keys.error().user);
    auto p = charset_search(c, first);
    if (!p) return;
    if (want && want->update && tag_in_use(c)) return;
    bool modseq = uses(p->root, SearchKey::Op::modseq);
    if (modseq) enable_condstore();
    auto found = search(*p);
    if (!found) return fail(c, found.error());
    auto sorted = sort_found(*found, *keys);
    if (!sorted) return fail(c, sorted.error());
    std::vector<int64_t> values;
    int64_t highest = 0;
    for (size_t seq : *sorted) {
        const Msg& m = sel_->msgs[seq - 1];
        values.push_back(c.uid ? m.uid : static_cast<int64_t>(seq));
        highest = std::max(highest, m.modseq);
    }
    if (want) { // ESORT: an ESEARCH response (SAVE keeps the set, RFC 5182)
        if (want->update) follow(c, *p, *keys, *sorted);
        if (want->wants("SAVE")) {
            saved_.clear();
            for (size_t seq : *sorted) saved_.push_back(sel_->msgs[seq - 1].uid);
            std::sort(saved_.begin(), saved_.end());
            if (want->want.size() == 1) return ok(c, c.uid ? "UID SORT completed" : "SORT completed");
        }
        std::string out = esearch_response(c, *want, values);
        if (modseq && highest) out += fmt::format(" MODSEQ {}", highest);
        io_.write(out + "\r\n");
        return ok(c, c.uid ? "UID SORT completed" : "SORT completed");
    }
    std::string out = "* SORT";
    for (int64_t v : values) out += " " + std::to_string(v);
    if (modseq && highest) out += fmt::format(" (MODSEQ {})", highest);
    io_.write(out + "\r\n");
    ok(c, c.uid ? "UID SORT completed" : "SORT completed");
}

} // namespace mail::imap
