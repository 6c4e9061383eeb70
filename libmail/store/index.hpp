// index.sqlite, one per mailbox. Format version 3 (PRAGMA user_version):
//   folders   control data: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, and the
//             mtimes of new/ and cur/ at the last full scan
//   messages  control data: UID <-> file base name, location, flags,
//             keywords, MODSEQ, internal date, size
//   cache     rebuildable: header fields parsed from the file
//   imap, text  rebuildable: what mail-imapd sends and searches (version 2)
//   expunged  the UID and MODSEQ of every removed message (version 3), for
//             CONDSTORE/QRESYNC clients; every removal bumps HIGHESTMODSEQ
// The files are the truth: scan() brings the index in line with them, so
// deleting the cache table (or the whole file) loses no mail; the latter
// only gives new UIDs. Control writes run with synchronous=FULL.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/sqlite.hpp"

namespace mail {

struct CachedFields {
    std::string date, from, to, subject, message_id;
};

struct Header;
// The cached header fields of a message, or of its already parsed header.
CachedFields cache_fields(std::string_view message);
CachedFields cache_fields(const Header& header);

struct IndexedMessage {
    int64_t uid = 0;
    std::string base;   // file base name (before ":2,")
    std::string subdir; // "new" or "cur"
    std::string flags;
    int64_t modseq = 0;
    int64_t internaldate = 0;
    int64_t size = 0;
    std::string keywords; // IMAP keywords, space-separated
    std::string filename() const; // base, or base:2,flags in cur/
};

struct FolderState {
    int64_t id = 0;
    std::string name;
    int64_t uidvalidity = 0, uidnext = 1, highestmodseq = 0;
};

struct ScanReport {
    int added = 0, removed = 0, changed = 0;
    bool skipped = false; // nothing changed since the last scan
    bool same = false;    // the index already said what the files say (or skipped)
};

// A message's row of the IMAP cache (version 2, rebuildable): what
// mail-imapd computes from the file once and sends many times.
struct CacheRow {
    uint64_t size = 0; // RFC822.SIZE (CRLF line ends)
    std::string envelope, body, bodystructure;
};

// The search text of one message: decoded header lines and body text, and
// the decoded, case-folded From, To, Cc, Bcc and Subject (nullopt for a
// field the message lacks), in the order of SearchField.
enum class SearchField { from, to, cc, bcc, subject };
constexpr size_t search_field_count = 5;
struct TextRow {
    int64_t uid = 0;
    std::string header, body;
    std::optional<std::string> fields[search_field_count];
};
// Where text_rows looks for a needle: anywhere, in the header or the body.
enum class TextColumn { any, header, body };

// The counts STATUS reports for a folder. `size` is the cached RFC822.SIZE
// of each message, or twice the stored size where the cache has no row (at
// least the exact sum, as RFC 8438 requires).
struct FolderCounts {
    int64_t messages = 0, unseen = 0, recent = 0, deleted = 0, size = 0;
};

// A file just delivered, for MailboxIndex::add_delivered.
struct NewFile {
    std::string base;
    int64_t size = 0, internaldate = 0;
    CachedFields fields;
    std::string flags; // empty: in new/; else in cur/ with these flags
    std::string subdir;   // "new" or "cur" to say so; empty: by the flags
    std::string keywords; // space-separated
};

class MailboxIndex {
  public:
    static Result<MailboxIndex> open(const std::string& mailbox_root);
    void release_memory() { db_.release_memory(); } // before a long wait

    Result<FolderState> folder(std::string_view name); // created on first use
    // Record a file just delivered to <folder>/new, or to cur/ with its
    // `flags` (letters) when it has some. Idempotent per base name.
    Result<int64_t> add_delivered(std::string_view folder, const std::string& base, int64_t size,
                                  int64_t internaldate, const CachedFields& fields,
                                  std::string_view flags = {});
    // Several files of one folder in one transaction; their UIDs are
    // appended to `uids` (0 for a file the index already had).
    Status add_delivered(std::string_view folder, const std::vector<NewFile>& files,
                         std::vector<int64_t>* uids = nullptr);
    // A message's new place and flags (renamed by this process), with the
    // next MODSEQ, which it returns; 0 when the index no longer has it.
    Result<int64_t> set_flags(int64_t folder_id, int64_t uid, std::string_view subdir,
                           std::string_view flags, std::string_view keywords);
    // Messages whose files this process removed (or moved away).
    Status remove(int64_t folder_id, const std::vector<int64_t>& uids);
    // Flag changes and expunges (set_flags, remove) are committed without
    // a sync, as Dovecot's mail_fsync=optimized does: safe from kill -9,
    // while a power loss may undo the last ones. The folder's directory
    // mtimes are forgotten in the same commit, so that whatever a power
    // loss left of the renames and unlinks, the next scan lists the files
    // again. A caller's transaction around several is begun with
    // Transaction::begin_unsynced() and ends with this.
    Status commit_changes(Transaction& tx, int64_t folder_id);
    // Folder rows: whether one is known (without creating it), renaming a
    // folder and its children (their subscriptions follow), dropping one.
    Result<std::optional<FolderState>> find_folder(std::string_view name);
    Status rename_folder(std::string_view from, std::string_view to);
    Status drop_folder(std::string_view name);
    // Subscriptions, apart from the folders: the choices made (SUBSCRIBE
    // true, UNSUBSCRIBE false) by name; a folder without one counts as
    // subscribed. keep_subscription() makes the implicit one explicit (a
    // DELETE keeps it, RFC 3501 6.3.9) unless a choice was made.
    Status subscribe(std::string_view name, bool on);
    Status keep_subscription(std::string_view name);
    Result<std::map<std::string, bool>> subscriptions();
    // METADATA (RFC 5464, store/metadata.cpp): the annotations of a folder
    // ("" for the server), entry names compared without case. Every entry
    // of one folder, by name; setting them (a value, or nullopt to remove)
    // in one transaction, false (and nothing changed) when the user would
    // then have more than `max_entries`. DELETE drops a folder's, RENAME
    // moves them with the folder and its children.
    Result<std::vector<std::pair<std::string, std::string>>> metadata(std::string_view folder);
    Result<bool> set_metadata(std::string_view folder,
                              const std::vector<std::pair<std::string, std::optional<std::string>>>& entries,
                              int64_t max_entries);
    // The special-use attributes a folder was created with ("\\Sent"),
    // space-separated; the folders that have some.
    Status set_special_use(std::string_view name, std::string_view use);
    Result<std::map<std::string, std::string>> special_uses();
    // A message's cached header fields; nullopt when the cache has no row
    // (it is rebuildable: the caller reads the file).
    Result<std::optional<CachedFields>> cached_fields(int64_t folder_id, int64_t uid);
    // UIDs removed from a folder with a MODSEQ above `modseq`, in order.
    Result<std::vector<int64_t>> expunged_since(int64_t folder_id, int64_t modseq);
    // Bring one folder in line with its files; `force` ignores the mtimes.
    // With `max_age`, a folder whose files some facteur process listed less
    // than that many seconds ago is taken as its index says (every facteur
    // writer records its own changes; another Maildir tool's show up after
    // at most max_age seconds). With `rows`, the folder's rows as the
    // caller read them (messages()) just before: the files are compared
    // with those instead of reading the rows again; `same` then says they
    // are still right.
    Result<ScanReport> scan(std::string_view folder, bool force, bool dry_run = false, int max_age = 0,
                            const std::vector<IndexedMessage>* rows = nullptr);
    Result<std::vector<IndexedMessage>> messages(std::string_view folder);
    Result<int64_t> total_size(); // all folders, for the quota
    Result<int64_t> total_messages();
    // A write transaction (BEGIN IMMEDIATE once begun): the calls made
    // while it is open commit together.
    Transaction transaction() { return Transaction(db_); }
    // Called by scan() for each file it indexes whose whole content it
    // read (files up to 256 KB), inside scan's transaction: a reader
    // (mail-imapd) fills its own cache from the same read.
    using NewFileHook = std::function<Status(int64_t folder_id, int64_t uid, std::string_view content)>;
    void on_new_file(NewFileHook hook) { hook_ = std::move(hook); }

    // --- For readers that keep state per session (cache.cpp) ---
    // \Recent (RFC 3501 2.3.2): the UIDs [first, second) no session has
    // claimed, now the caller's (a read-write session: at SELECT, and again
    // whenever it sees new messages); no later caller gets them.
    // peek_recent: the first unclaimed UID, claiming nothing (EXAMINE).
    Result<std::pair<int64_t, int64_t>> take_recent(int64_t folder_id);
    Result<int64_t> peek_recent(int64_t folder_id);
    // Messages whose MODSEQ is above `modseq`, by UID.
    Result<std::vector<IndexedMessage>> changed_since(int64_t folder_id, int64_t modseq);
    // One message's row as the index has it now; nullopt when it is gone.
    Result<std::optional<IndexedMessage>> message(int64_t folder_id, int64_t uid);
    // MESSAGES, UNSEEN, RECENT, DELETED and (with_size, dearer) SIZE.
    Result<FolderCounts> counts(int64_t folder_id, bool with_size);
    // The IMAP cache: rows of the UIDs in [from, to]; storing one (inside
    // the caller's transaction, if any); the messages without a row.
    Result<std::map<int64_t, CacheRow>> cache_rows(int64_t folder_id, int64_t from, int64_t to);
    Status put_cache_row(int64_t folder_id, int64_t uid, const CacheRow& row);
    Result<std::vector<IndexedMessage>> uncached(int64_t folder_id);
    // The Date: field of each message of a folder, from the header cache.
    Result<std::map<int64_t, std::string>> cached_dates(int64_t folder_id);
    // The search text: how many messages of a folder have it, which, and
    // storing rows (committed in batches of 500).
    Result<int64_t> text_count(int64_t folder_id);
    Result<std::set<int64_t>> text_uids(int64_t folder_id);
    Status put_text(int64_t folder_id, const std::vector<TextRow>& rows);
    // UIDs whose field contains `needle` (already folded).
    Result<std::set<int64_t>> field_search(int64_t folder_id, SearchField field, std::string_view needle);
    // The stored text of the messages that may contain `needle` (all its
    // trigrams present in `column`); every row when the needle is shorter
    // than 3 characters. The caller verifies.
    Status text_rows(int64_t folder_id, TextColumn column, std::string_view needle,
                     const std::function<void(int64_t uid, std::string_view hdr, std::string_view body)>& row);

  private:
    MailboxIndex(Db db, std::string root) : db_(std::move(db)), root_(std::move(root)) {}
    Status migrate();
    Db db_;
    std::string root_;
    NewFileHook hook_;
};

} // namespace mail
