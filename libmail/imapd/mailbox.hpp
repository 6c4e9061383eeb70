// The selected mailbox of an IMAP session: the messages in sequence order
// as this session knows them, kept in line with index.sqlite (which other
// sessions, mail-deliver and scans of the files change), and the IMAP
// caches of the index (sizes, ENVELOPE, BODYSTRUCTURE, search text).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/files.hpp"
#include "imapd/context.hpp"
#include "imapd/message.hpp"
#include "store/index.hpp"

namespace mail::imap {

struct Msg {
    int64_t uid = 0;
    std::string base, subdir, flags, keywords; // flags: Maildir letters
    int64_t modseq = 0, internaldate = 0;
    bool recent = false;
    bool gone = false; // expunged elsewhere, not yet announced
};

// "(\Seen \Flagged $Label1)" for a message.
std::string flag_list(const Msg& m);
// IMAP flags -> Maildir letters and keywords; false on a flag that cannot
// be set (\Recent, an unknown system flag, a bad keyword).
bool parse_flags(const std::vector<std::string>& flags, std::string& letters,
                 std::vector<std::string>& keywords);
std::string join_keywords(const std::vector<std::string>& k);
std::vector<std::string> split_keywords(std::string_view s);

class Selected {
  public:
    // Scan the folder's files and load it. With `read_write` and `recent`
    // the session claims the messages no session has seen (\Recent here
    // and nowhere else), at once and whenever new ones show up; EXAMINE
    // (`read_write` false) shows the unclaimed ones \Recent and claims
    // none (RFC 3501 6.3.2). IMAP4rev2 has no \Recent: `recent` false.
    static Result<Selected> open(MailboxIndex& idx, const std::string& root, const std::string& name,
                                 bool read_write, bool recent = true);

    std::vector<Msg> msgs; // by UID
    FolderState state;     // as last announced
    std::string name, dir;
    bool read_write = false;
    int64_t scanned_at = 0; // when the files were last looked at (time())
    std::vector<SearchContext> contexts; // RETURN (UPDATE) results followed (RFC 5267)

    // What refresh() reports, and how.
    struct Report {
        bool expunge = true;   // EXPUNGE/VANISHED allowed now
        bool modseq = false;   // CONDSTORE: MODSEQ in FETCH, every MODSEQ change told
        bool vanished = false; // QRESYNC: VANISHED instead of EXPUNGE
        bool scan = true;      // scan the files first (their directories' mtimes tell whether to list them)
        bool recent = true;    // RECENT responses (none in IMAP4rev2)
    };
    // Bring the view in line with the index: EXPUNGE (or VANISHED),
    // FETCH FLAGS and EXISTS/RECENT responses are appended to `out`.
    Status refresh(MailboxIndex& idx, std::string& out, const Report& how);
    // Drop the messages at these sequence numbers (ascending) from the
    // view; returns their EXPUNGE responses (or one VANISHED), after the
    // REMOVEFROM of the contexts that held them (RFC 5267 4.3.4).
    std::string expunge(const std::vector<size_t>& seqs, bool vanished);
    // "* 3 FETCH (UID 7 FLAGS (\Seen) MODSEQ (12))"
    std::string flags_response(size_t seq, bool uid, bool modseq) const;
    // Sequence number (1-based) of a UID, or 0.
    size_t seq_of(int64_t uid) const;
    // The message file mapped, wherever another Maildir tool moved it;
    // nullopt when it is gone (expunged elsewhere).
    Result<std::optional<MappedFile>> map_file(const Msg& m) const;
    // Current path of the file, "" when it is gone.
    std::string find_path(const Msg& m) const;
    size_t recent_count() const;
    // "* ESEARCH (TAG "t") UID " + data, the response of a context's changes.
    std::string context_response(const SearchContext& ctx, const std::string& data) const;
    // A UID as the context shows it.
    ShowUid shown_as(const SearchContext& ctx) const;
    // "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" with the keywords in
    // use in the folder (SELECT), and the same lines again when `keywords`
    // holds one the session has not announced yet ("" otherwise): sent
    // before the FETCH that shows it (RFC 3501 7.2.6).
    std::string flag_lines() const;
    std::string note_keywords(const std::string& keywords);

  private:
    Result<Fd> open_file(const Msg& m) const; // Errc::noinput when gone
    // Mark the messages at `from` onwards that are this session's \Recent.
    Status claim_recent(MailboxIndex& idx, size_t from);
    // Whether `keywords` holds one not announced yet (now remembered).
    bool add_keywords(const std::string& keywords);
    enum class RecentMode { none, peek, claim } recent_mode_ = RecentMode::none;
    int64_t peek_from_ = INT64_MAX; // peek: UIDs at or above this are \Recent
    std::set<std::string> keywords_; // as announced in FLAGS
};

// The cache rows of messages (computed from the files and stored when
// missing); messages whose file is gone are left out.
Result<std::map<int64_t, CacheRow>> cache_rows(MailboxIndex& idx, const Selected& sel,
                                               const std::vector<const Msg*>& msgs);
// Fill the cache rows of a folder's messages that have none (for STATUS
// SIZE), for up to `budget_ms` milliseconds.
Status fill_cache(MailboxIndex& idx, int64_t folder_id, const std::string& dir, int budget_ms);
// Have the index's scans store the cache row of each file they read.
void cache_new_files(MailboxIndex& idx);
// Lower case for case-insensitive SEARCH (towlower per code point, in
// the C.UTF-8 locale mail-imapd sets).
std::string fold(std::string_view s);
// The i;unicode-casemap key of a string (RFC 5051): each character to its
// titlecase, then fully decomposed (NFKD); keys compare as bytes. SORT's
// collation (RFC 5256 7). libunistring holds the Unicode tables.
std::string unicode_casemap(std::string_view s);
// A message's search text for the index: decoded text, and the decoded,
// folded From/To/Cc/Bcc/Subject.
TextRow text_row(int64_t uid, std::string_view message);
// The SEARCH key (FROM TO CC BCC SUBJECT) that has a column of its own.
std::optional<SearchField> indexed_field(std::string_view field);

// Index the search text of messages of the view that have none, for up
// to `budget_ms` milliseconds; returns the UIDs still without it.
Result<std::set<int64_t>> index_text(MailboxIndex& idx, const Selected& sel, int budget_ms);

} // namespace mail::imap
