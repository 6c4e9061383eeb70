// FETCH and UID FETCH: cached items (ENVELOPE, BODYSTRUCTURE, sizes),
// body sections and BINARY from the file, CHANGEDSINCE and VANISHED.
#include "session.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "imapd/arguments.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

// ---- FETCH ------------------------------------------------------------------

namespace {

bool needs_cache(const FetchItem& i) {
    using K = FetchItem::Kind;
    return i.kind == K::rfc822_size || i.kind == K::envelope || i.kind == K::bodystructure || i.kind == K::body;
}

bool sets_seen(const FetchItem& i) {
    using K = FetchItem::Kind;
    return (i.kind == K::body_section || i.kind == K::binary) ? !i.peek : (i.kind == K::rfc822 || i.kind == K::rfc822_text);
}

} // namespace

void Session::cmd_fetch(const Command& c) {
    if (c.args.size() != 2 && c.args.size() != 3) return bad(c, "FETCH set items [(modifiers)]");
    std::vector<size_t> seqs;
    if (!resolve(c, c.args[0], c.uid, seqs)) return;
    auto items = parse_fetch_items(c.args[1]);
    if (!items) return bad(c, items.error().user);
    auto has = [&](FetchItem::Kind k) { return std::any_of(items->begin(), items->end(), [&](auto& i) { return i.kind == k; }); };
    // Modifiers (RFC 7162): (CHANGEDSINCE modseq [VANISHED])
    std::optional<int64_t> since;
    bool vanished = false;
    if (c.args.size() == 3) {
        auto& mods = c.args[2];
        if (mods.kind != Value::Kind::list) return bad(c, "FETCH modifiers are a list");
        for (size_t i = 0; i < mods.items.size(); i++) {
            if (mods.items[i].is("CHANGEDSINCE") && i + 1 < mods.items.size() && !since) {
                since = mod_sequence(mods.items[++i]);
                if (!since) return bad(c, "CHANGEDSINCE takes a mod-sequence");
            } else if (mods.items[i].is("VANISHED") && !vanished) {
                vanished = true;
            } else {
                return bad(c, "unknown FETCH modifier");
            }
        }
        if (vanished && (!c.uid || !qresync_ || !since))
            return bad(c, "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC");
    }
    if (since || has(FetchItem::Kind::modseq)) enable_condstore();
    if (c.uid && !has(FetchItem::Kind::uid)) items->insert(items->begin(), FetchItem{FetchItem::Kind::uid, {}, false, std::nullopt});
    if (since && !has(FetchItem::Kind::modseq)) items->push_back(FetchItem{FetchItem::Kind::modseq, {}, false, std::nullopt});
    if (since) {
        if (vanished) { // expunged UIDs of the set since then (RFC 7162 3.2.6)
            auto set = parse_sequence_set(c.args[0].text);
            auto gone = index_->expunged_since(sel_->state.id, *since);
            if (!gone) return fail(c, gone.error());
            std::vector<int64_t> uids;
            auto largest = static_cast<uint32_t>(sel_->state.uidnext - 1);
            for (int64_t u : *gone)
                if (set && !set->saved && set->contains(static_cast<uint32_t>(u), largest)) uids.push_back(u);
            if (!uids.empty()) io_.write("* VANISHED (EARLIER) " + uid_set(uids) + "\r\n");
        }
        std::erase_if(seqs, [&](size_t seq) { return sel_->msgs[seq - 1].modseq <= *since; });
    }
    fetch(c, seqs, *items);
}

// What a FETCH asks, worked out once for all its messages.
struct Session::FetchPlan {
    const std::vector<FetchItem>& items;
    bool cache, seen, flags_item, modseq_item;
};

void Session::fetch(const Command& c, const std::vector<size_t>& seqs, const std::vector<FetchItem>& items) {
    auto has = [&](auto pred) { return std::any_of(items.begin(), items.end(), pred); };
    FetchPlan plan{items, has(needs_cache), sel_->read_write && has(sets_seen),
                   has([](auto& i) { return i.kind == FetchItem::Kind::flags; }),
                   has([](auto& i) { return i.kind == FetchItem::Kind::modseq; })};
    std::optional<Transaction> tx; // \Seen for many messages: one commit
    // In batches: the cache of 500 messages at a time, written out as it goes.
    constexpr size_t batch = 500;
    for (size_t from = 0; from < seqs.size(); from += batch) {
        size_t to = std::min(seqs.size(), from + batch);
        std::map<int64_t, CacheRow> rows;
        if (plan.cache) {
            std::vector<const Msg*> ms;
            for (size_t k = from; k < to; k++) ms.push_back(&sel_->msgs[seqs[k] - 1]);
            auto r = cache_rows(*index_, *sel_, ms);
            if (!r) return fail(c, r.error());
            rows = std::move(*r);
        }
        for (size_t k = from; k < to; k++) {
            const CacheRow* row = nullptr;
            if (plan.cache) {
                auto it = rows.find(sel_->msgs[seqs[k] - 1].uid);
                if (it == rows.end()) continue; // its file is gone: expunged elsewhere
                row = &it->second;
            }
            if (Status st = fetch_one(seqs[k], plan, row, tx); !st) return fail(c, st.error());
        }
        if (tx) {
            if (Status st = index_->commit_changes(*tx, sel_->state.id); !st) return fail(c, st.error());
            tx.reset();
        }
        if (!io_.flush()) return void(state_ = State::logout);
    }
    if (unknown_cte_) {
        unknown_cte_ = false;
        return no(c, "[UNKNOWN-CTE] a part's content-transfer-encoding is unknown: fetch it with BODY[]");
    }
    ok(c, c.uid ? "UID FETCH completed" : "FETCH completed");
}

// One message's FETCH response, written out (nothing when its file is gone).
Status Session::fetch_one(size_t seq, const FetchPlan& plan, const CacheRow* row, std::optional<Transaction>& tx) {
    Msg& m = sel_->msgs[seq - 1];
    std::string line = fmt::format("* {} FETCH (", seq);
    size_t start = line.size();
    auto sep = [&] {
        if (line.size() > start) line += ' ';
    };
    bool add_flags = false;
    if (plan.seen && m.flags.find('S') == std::string::npos && !m.gone) {
        if (!tx) {
            tx.emplace(index_->transaction());
            MAIL_TRY(tx->begin_unsynced());
        }
        if (Status st = set_flags(m, maildir::normalize_flags(m.flags + "S"), m.keywords); !st) {
            if (st.error().code != Errc::noinput) return st;
        } else {
            add_flags = !plan.flags_item;
        }
    }
    for (auto& i : plan.items) {
        using K = FetchItem::Kind;
        sep();
        switch (i.kind) {
        case K::uid: line += fmt::format("UID {}", m.uid); break;
        case K::flags: line += "FLAGS " + flag_list(m); break;
        case K::internaldate: line += "INTERNALDATE " + format_internal_date(m.internaldate); break;
        case K::rfc822_size: line += fmt::format("RFC822.SIZE {}", row->size); break;
        case K::envelope: line += "ENVELOPE " + row->envelope; break;
        case K::body: line += "BODY " + row->body; break;
        case K::bodystructure: line += "BODYSTRUCTURE " + row->bodystructure; break;
        case K::modseq: line += fmt::format("MODSEQ ({})", m.modseq); break;
        default:
            if (!send_body(m, i, line)) return {};
        }
    }
    if (add_flags) sep(), line += "FLAGS " + flag_list(m);
    // CONDSTORE: every FLAGS told goes with its MODSEQ
    if (condstore_ && (add_flags || plan.flags_item) && !plan.modseq_item) sep(), line += fmt::format("MODSEQ ({})", m.modseq);
    io_.write(line + ")\r\n");
    return {};
}

// A body item: its name and literal, appended to `line` (or, for large
// texts, written out in pieces). False when the file is gone.
bool Session::send_body(const Msg& m, const FetchItem& item, std::string& line) {
    auto mapped = sel_->map_file(m);
    if (!mapped || !*mapped) return false;
    const MappedFile* map = &**mapped;
    Section s = item.section;
    using K = FetchItem::Kind;
    std::string name = item.name();
    if (item.kind == K::binary || item.kind == K::binary_size) {
        // BINARY (RFC 3516): the part with its transfer encoding undone,
        // decoded in memory (a part is bounded by the message size limit).
        bool unknown = false;
        auto data = binary_text(map->view(), s, unknown);
        if (unknown) return unknown_cte_ = true, false;
        if (item.kind == K::binary_size) return line += fmt::format("{} {}", name, data ? data->size() : 0), true;
        if (!data) return line += name + " NIL", true;
        std::string_view d = *data;
        if (item.partial) d = d.substr(std::min<uint64_t>(item.partial->first, d.size()), item.partial->second);
        bool nul = d.find('\0') != std::string_view::npos;
        line += fmt::format("{} {}{{{}}}\r\n", name, nul ? "~" : "", d.size());
        line += d;
        return true;
    }
    if (item.kind == K::rfc822_header) s.text = "HEADER";
    if (item.kind == K::rfc822_text) s.text = "TEXT";
    std::string storage;
    auto text = section_text(map->view(), s, storage);
    std::string_view t = text ? *text : std::string_view();
    uint64_t total = crlf_size(t);
    uint64_t offset = 0, length = total;
    if (item.partial) {
        offset = std::min(item.partial->first, total);
        length = std::min(item.partial->second, total - offset);
    }
    line += fmt::format("{} {{{}}}\r\n", name, length);
    if (!item.partial && t.size() > (1u << 20)) {
        // A large text: written out piece by piece, never whole in memory.
        io_.write(line);
        line.clear();
        bool cr = false;
        std::string out;
        for (size_t pos = 0; pos < t.size(); pos += 256 * 1024) {
            out.clear();
            append_crlf(t.substr(pos, 256 * 1024), out, cr);
            io_.write(out);
            if (!io_.flush()) return false;
        }
        return true;
    }
    std::string piece;
    line += crlf_slice(t, offset, length, piece);
    return true;
}

} // namespace mail::imap
