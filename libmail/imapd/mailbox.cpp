#include "mailbox.hpp"

#include <algorithm>
#include <cwctype>
#include <chrono>
#include <optional>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <unicase.h>
#include <uninorm.h>
#include <unistd.h>
#include <unistr.h>

#include "imap/mutf7.hpp"
#include "imap/syntax.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

namespace {

constexpr std::pair<char, const char*> letter_flags[] = {
    {'D', "\\Draft"}, {'F', "\\Flagged"}, {'R', "\\Answered"}, {'S', "\\Seen"}, {'T', "\\Deleted"}};

bool atom_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && !std::strchr("(){%*\"\\]", c);
}

} // namespace

std::string flag_list(const Msg& m) {
    std::string out = "(";
    auto add = [&](std::string_view f) {
        if (out.size() > 1) out += ' ';
        out += f;
    };
    for (auto [letter, name] : letter_flags)
        if (m.flags.find(letter) != std::string::npos) add(name);
    if (!m.keywords.empty()) add(m.keywords);
    if (m.recent) add("\\Recent");
    return out + ")";
}

std::vector<std::string> split_keywords(std::string_view s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        size_t sp = s.find(' ', i);
        if (sp == std::string_view::npos) sp = s.size();
        if (sp > i) out.emplace_back(s.substr(i, sp - i));
        i = sp + 1;
    }
    return out;
}

std::string join_keywords(const std::vector<std::string>& k) {
    std::string out;
    for (auto& w : k) out += (out.empty() ? "" : " ") + w;
    return out;
}

bool parse_flags(const std::vector<std::string>& flags, std::string& letters, std::vector<std::string>& keywords) {
    for (auto& f : flags) {
        if (f.starts_with("\\")) {
            bool known = false;
            for (auto [letter, name] : letter_flags)
                if (iequals(f, name)) letters += letter, known = true;
            if (!known) return false;
            continue;
        }
        if (f.empty() || f.size() > 100 || !std::all_of(f.begin(), f.end(), atom_char)) return false;
        if (std::none_of(keywords.begin(), keywords.end(), [&](auto& k) { return iequals(k, f); }))
            keywords.push_back(f);
    }
    letters = maildir::normalize_flags(letters);
    return true;
}

Result<Selected> Selected::open(MailboxIndex& idx, const std::string& root, const std::string& name,
                                bool read_write, bool recent) {
    Selected s;
    s.name = maildir::is_inbox(name) ? "INBOX" : name;
    s.dir = maildir::folder_path(root, s.name);
    s.read_write = read_write;
    // The state, then the rows, then the files compared with those rows:
    // when the files agree, the rows are the view (a change made after the
    // state was read has a higher MODSEQ and is told at the next refresh);
    // else the scan brought the index in line and both are read again.
    auto f = idx.folder(s.name);
    if (!f) return f.error();
    auto list = idx.messages(s.name);
    if (!list) return list.error();
    auto scanned = idx.scan(s.name, false, false, 0, &*list);
    if (!scanned) return scanned.error();
    s.scanned_at = time(nullptr);
    if (!scanned->same) {
        f = idx.folder(s.name);
        if (!f) return f.error();
        list = idx.messages(s.name);
        if (!list) return list.error();
    }
    s.recent_mode_ = !recent ? RecentMode::none : read_write ? RecentMode::claim : RecentMode::peek;
    if (s.recent_mode_ == RecentMode::peek) {
        auto from = idx.peek_recent(f->id);
        if (!from) return from.error();
        s.peek_from_ = *from;
    }
    s.state = *f;
    s.msgs.reserve(list->size());
    for (auto& m : *list) {
        Msg v{m.uid, m.base, m.subdir, m.flags, m.keywords, m.modseq, m.internaldate, m.uid >= s.peek_from_, false};
        s.msgs.push_back(std::move(v));
    }
    MAIL_TRY(s.claim_recent(idx, 0));
    for (auto& m : s.msgs)
        for (auto& k : split_keywords(m.keywords)) s.keywords_.insert(k);
    return s;
}

std::string Selected::flag_lines() const {
    std::string kw;
    for (auto& k : keywords_) kw += " " + k;
    return fmt::format("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{})\r\n"
                       "* OK [PERMANENTFLAGS ({})] flags\r\n",
                       kw, read_write ? "\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + " \\*" : "");
}

bool Selected::add_keywords(const std::string& keywords) {
    bool news = false;
    for (auto& k : split_keywords(keywords)) news |= keywords_.insert(k).second;
    return news;
}

std::string Selected::note_keywords(const std::string& keywords) { return add_keywords(keywords) ? flag_lines() : ""; }

Status Selected::claim_recent(MailboxIndex& idx, size_t from) {
    if (recent_mode_ != RecentMode::claim || from >= msgs.size()) return {};
    auto claimed = idx.take_recent(state.id);
    if (!claimed) return claimed.error();
    for (size_t i = from; i < msgs.size(); i++)
        msgs[i].recent = msgs[i].uid >= claimed->first && msgs[i].uid < claimed->second;
    return {};
}

size_t Selected::seq_of(int64_t uid) const {
    auto it = std::lower_bound(msgs.begin(), msgs.end(), uid, [](const Msg& m, int64_t u) { return m.uid < u; });
    return it != msgs.end() && it->uid == uid ? static_cast<size_t>(it - msgs.begin()) + 1 : 0;
}

size_t Selected::recent_count() const {
    return static_cast<size_t>(std::count_if(msgs.begin(), msgs.end(), [](const Msg& m) { return m.recent; }));
}

Status Selected::refresh(MailboxIndex& idx, std::string& out, const Report& how) {
    size_t start = out.size();
    if (how.scan) {
        auto scanned = idx.scan(name, false);
        if (!scanned) return scanned.error();
        scanned_at = time(nullptr);
    }
    auto f = idx.find_folder(name);
    if (!f) return f.error();
    std::vector<size_t> changed;
    size_t added = 0;
    if (!*f) { // the folder was deleted under us: everything is gone
        for (auto& m : msgs) m.gone = true;
    } else if ((*f)->highestmodseq != state.highestmodseq || (*f)->uidvalidity != state.uidvalidity) {
        auto rows = idx.changed_since((*f)->id, state.highestmodseq);
        if (!rows) return rows.error();
        int64_t last_uid = msgs.empty() ? 0 : msgs.back().uid;
        for (auto& r : *rows) {
            if (r.uid > last_uid) {
                msgs.push_back(Msg{r.uid, r.base, r.subdir, r.flags, r.keywords, r.modseq, r.internaldate,
                                   false, false});
                added++;
                continue;
            }
            size_t seq = seq_of(r.uid);
            if (!seq) continue;
            Msg& m = msgs[seq - 1];
            m.base = r.base;
            m.subdir = r.subdir;
            // A CONDSTORE client hears of every new MODSEQ (not of its own:
            // the session keeps those in the view as it makes them).
            bool news = r.flags != m.flags || r.keywords != m.keywords || (how.modseq && m.modseq != r.modseq);
            m.modseq = r.modseq;
            if (news) {
                m.flags = r.flags, m.keywords = r.keywords;
                changed.push_back(seq);
            }
        }
        // Expunges: the log of the index says which UIDs went.
        auto gone = idx.expunged_since((*f)->id, state.highestmodseq);
        if (!gone) return gone.error();
        for (int64_t uid : *gone)
            if (size_t seq = seq_of(uid)) msgs[seq - 1].gone = true;
        state = **f;
    }
    if (how.expunge) {
        std::vector<size_t> seqs;
        for (size_t i = 0; i < msgs.size(); i++)
            if (msgs[i].gone) seqs.push_back(i + 1);
        for (auto& c : changed) // renumbered as the expunged ones leave
            if (c) c = std::binary_search(seqs.begin(), seqs.end(), c)
                           ? 0 : c - static_cast<size_t>(std::lower_bound(seqs.begin(), seqs.end(), c) - seqs.begin());
        out += expunge(seqs, how.vanished);
    }
    bool new_keywords = false;
    for (size_t seq : changed)
        if (seq && !msgs[seq - 1].gone) new_keywords |= add_keywords(msgs[seq - 1].keywords);
    for (size_t i = msgs.size() - added; i < msgs.size(); i++) new_keywords |= add_keywords(msgs[i].keywords);
    if (new_keywords) out.insert(start, flag_lines()); // once, with every new keyword
    for (size_t seq : changed)
        if (seq && !msgs[seq - 1].gone) out += flags_response(seq, true, how.modseq);
    if (added) {
        MAIL_TRY(claim_recent(idx, msgs.size() - added)); // the new ones are last
        out += fmt::format("* {} EXISTS\r\n", msgs.size());
        if (how.recent) out += fmt::format("* {} RECENT\r\n", recent_count());
    }
    return {};
}

std::string Selected::expunge(const std::vector<size_t>& seqs, bool vanished) {
    std::string out;
    if (seqs.empty()) return out;
    std::vector<int64_t> uids;
    for (size_t seq : seqs) uids.push_back(msgs[seq - 1].uid);
    std::set<int64_t> gone(uids.begin(), uids.end());
    for (auto& ctx : contexts)
        if (std::string data = remove_from(ctx, gone, shown_as(ctx)); !data.empty()) out += context_response(ctx, data);
    if (vanished) out += "* VANISHED " + uid_set(uids) + "\r\n";
    for (size_t k = seqs.size(); k-- > 0;) {
        if (!vanished) out += fmt::format("* {} EXPUNGE\r\n", seqs[k]);
        msgs.erase(msgs.begin() + static_cast<long>(seqs[k] - 1));
    }
    return out;
}

std::string Selected::context_response(const SearchContext& ctx, const std::string& data) const {
    return fmt::format("* ESEARCH (TAG {}){} {}\r\n", string_value(ctx.tag), ctx.uid ? " UID" : "", data);
}

ShowUid Selected::shown_as(const SearchContext& ctx) const {
    if (ctx.uid) return [](int64_t uid) { return uid; };
    return [this](int64_t uid) { return static_cast<int64_t>(seq_of(uid)); };
}

std::string Selected::flags_response(size_t seq, bool uid, bool modseq) const {
    const Msg& m = msgs[seq - 1];
    std::string out = fmt::format("* {} FETCH (", seq);
    if (uid) out += fmt::format("UID {} ", m.uid);
    out += "FLAGS " + flag_list(m);
    if (modseq) out += fmt::format(" MODSEQ ({})", m.modseq);
    return out + ")\r\n";
}

namespace {

// Where a message's file should be, in the order to try.
std::vector<std::string> likely_paths(const std::string& dir, const Msg& m) {
    if (m.subdir == "new") return {dir + "/new/" + m.base, dir + "/cur/" + maildir::join_name({m.base, m.flags})};
    return {dir + "/cur/" + maildir::join_name({m.base, m.flags}), dir + "/cur/" + m.base, dir + "/new/" + m.base};
}

// Renamed by another tool since the last scan: found by its base name.
std::string renamed_path(const std::string& dir, const Msg& m) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir((dir + "/cur").c_str()), closedir);
    while (d) {
        auto* e = readdir(d.get());
        if (!e) break;
        if (maildir::split_name(e->d_name).base == m.base) return dir + "/cur/" + e->d_name;
    }
    return {};
}

} // namespace

std::string Selected::find_path(const Msg& m) const {
    for (auto& p : likely_paths(dir, m))
        if (access(p.c_str(), F_OK) == 0) return p;
    return renamed_path(dir, m);
}

Result<Fd> Selected::open_file(const Msg& m) const {
    // open() at once where it should be (no access() before it)
    for (auto& p : likely_paths(dir, m)) {
        Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (fd) return fd;
        if (errno != ENOENT) return sys_error("open", p);
    }
    std::string p = renamed_path(dir, m);
    if (p.empty()) return make_error(Errc::noinput, "message expunged", m.base);
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return errno == ENOENT ? make_error(Errc::noinput, "message expunged", p) : sys_error("open", p);
    return fd;
}

Result<std::optional<MappedFile>> Selected::map_file(const Msg& m) const {
    auto fd = open_file(m);
    if (!fd) {
        if (fd.error().code == Errc::noinput) return std::optional<MappedFile>();
        return fd.error();
    }
    auto map = MappedFile::open(fd->get(), m.base);
    if (!map) return map.error();
    return std::optional<MappedFile>(std::move(*map));
}

Result<std::map<int64_t, CacheRow>> cache_rows(MailboxIndex& idx, const Selected& sel,
                                               const std::vector<const Msg*>& msgs) {
    std::map<int64_t, CacheRow> out;
    if (msgs.empty()) return out;
    auto have = idx.cache_rows(sel.state.id, msgs.front()->uid, msgs.back()->uid);
    if (!have) return have.error();
    out = std::move(*have);
    std::vector<std::pair<int64_t, const CacheRow*>> fresh;
    for (const Msg* m : msgs) {
        if (out.count(m->uid)) continue;
        auto map = sel.map_file(*m);
        if (!map) return map.error();
        if (!*map) continue; // expunged elsewhere
        auto [it, _] = out.emplace(m->uid, cache_row((*map)->view()));
        fresh.emplace_back(m->uid, &it->second);
    }
    if (fresh.empty()) return out;
    Transaction tx = idx.transaction(); // a cache: rebuilt if a power loss takes it
    MAIL_TRY(tx.begin_unsynced());
    for (auto [uid, r] : fresh) MAIL_TRY(idx.put_cache_row(sel.state.id, uid, *r));
    MAIL_TRY(tx.commit());
    return out;
}

Status fill_cache(MailboxIndex& idx, int64_t folder_id, const std::string& dir, int budget_ms) {
    auto rows = idx.uncached(folder_id);
    if (!rows) return rows.error();
    if (rows->empty()) return {};
    Selected where; // only for map_file
    where.dir = dir;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    Transaction tx = idx.transaction();
    MAIL_TRY(tx.begin_unsynced()); // a cache, as above
    for (auto& r : *rows) {
        if (std::chrono::steady_clock::now() > deadline) break;
        auto map = where.map_file(Msg{r.uid, r.base, r.subdir, r.flags, "", 0, 0, false, false});
        if (!map) return map.error();
        if (!*map) continue;
        MAIL_TRY(idx.put_cache_row(folder_id, r.uid, cache_row((*map)->view())));
    }
    return tx.commit();
}

void cache_new_files(MailboxIndex& idx) {
    idx.on_new_file([&idx](int64_t folder_id, int64_t uid, std::string_view content) {
        return idx.put_cache_row(folder_id, uid, cache_row(content));
    });
}

std::string fold(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
            continue;
        }
        size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        if (i + n > s.size() || n == 1) {
            out += s[i++];
            continue;
        }
        uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
        for (size_t k = 1; k < n; k++) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        put_utf8(static_cast<uint32_t>(std::towlower(static_cast<wint_t>(cp))), out);
        i += n;
    }
    return out;
}

std::string unicode_casemap(std::string_view s) {
    std::vector<uint8_t> title;
    title.reserve(s.size());
    auto in = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = 0; i < s.size();) {
        ucs4_t cp;
        int n = u8_mbtouc(&cp, in + i, s.size() - i); // invalid bytes: U+FFFD
        uint8_t buf[6];
        int m = u8_uctomb(buf, uc_totitle(cp), sizeof buf);
        if (m > 0) title.insert(title.end(), buf, buf + m);
        i += static_cast<size_t>(n > 0 ? n : 1);
    }
    size_t len = 0;
    std::unique_ptr<uint8_t, decltype(&std::free)> out(
        u8_normalize(UNINORM_NFKD, title.data(), title.size(), nullptr, &len), &std::free);
    if (!out) return std::string(title.begin(), title.end());
    return std::string(reinterpret_cast<const char*>(out.get()), len);
}

namespace {
const char* const field_names[search_field_count] = {"FROM", "TO", "CC", "BCC", "SUBJECT"}; // addresses first
} // namespace

std::optional<SearchField> indexed_field(std::string_view field) {
    for (size_t i = 0; i < search_field_count; i++)
        if (field == field_names[i]) return static_cast<SearchField>(i);
    return std::nullopt;
}

TextRow text_row(int64_t uid, std::string_view message) {
    SearchText t = search_text(message);
    TextRow row{uid, std::move(t.header), std::move(t.body), {}};
    auto h = parse_header(message.substr(0, std::min<size_t>(message.size(), 1 << 20)), 1 << 20);
    if (!h) return row;
    for (auto& f : h->fields)
        for (size_t i = 0; i < search_field_count; i++)
            if (iequals(f.name, field_names[i])) {
                std::string v = fold(mime::decode_words(f.value) + (i < 4 ? address_forms(f.value) : ""));
                row.fields[i] = row.fields[i] ? *row.fields[i] + "\n" + v : v;
            }
    return row;
}

Result<std::set<int64_t>> index_text(MailboxIndex& idx, const Selected& sel, int budget_ms) {
    std::set<int64_t> missing;
    if (sel.msgs.empty()) return missing;
    // Usually everything is there: one count says so.
    auto count = idx.text_count(sel.state.id);
    if (!count) return count.error();
    size_t live = static_cast<size_t>(std::count_if(sel.msgs.begin(), sel.msgs.end(), [](auto& m) { return !m.gone; }));
    if (static_cast<size_t>(*count) == live) return missing;
    auto have = idx.text_uids(sel.state.id);
    if (!have) return have.error();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    std::vector<TextRow> rows;
    for (auto& m : sel.msgs) {
        if (have->count(m.uid) || m.gone) continue;
        if (std::chrono::steady_clock::now() > deadline) {
            missing.insert(m.uid);
            continue;
        }
        auto map = sel.map_file(m);
        if (!map) return map.error();
        if (!*map) continue;
        rows.push_back(text_row(m.uid, (*map)->view()));
        if (rows.size() == 500) { // stored in batches: memory stays bounded, other writers get their turn
            MAIL_TRY(idx.put_text(sel.state.id, rows));
            rows.clear();
        }
    }
    MAIL_TRY(idx.put_text(sel.state.id, rows));
    return missing;
}

} // namespace mail::imap
