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
    // Folder rows: whether one is known (without creating it), renaming a
    // folder and its children, dropping one, and the subscriptions.
    Result<std::optional<FolderState>> find_folder(std::string_view name);
    Status rename_folder(std::string_view from, std::string_view to);
    Status drop_folder(std::string_view name);
    Status subscribe(std::string_view name, bool on);
    Result<std::vector<std::string>> subscriptions();
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
    Result<ScanReport> scan(std::string_view folder, bool force, bool dry_run = false);
    Result<std::vector<IndexedMessage>> messages(std::string_view folder);
    Result<int64_t> total_size(); // all folders, for the quota
    Db& db() { return db_; }
    // Called by scan() for each file it indexes whose whole content it
    // read (files up to 256 KB), inside scan's transaction: a reader
    // (mail-imapd) fills its own cache from the same read.
    using NewFileHook = std::function<Status(Db&, int64_t folder_id, int64_t uid, std::string_view content)>;
    void on_new_file(NewFileHook hook) { hook_ = std::move(hook); }

  private:
    MailboxIndex(Db db, std::string root) : db_(std::move(db)), root_(std::move(root)) {}
    Status migrate();
    Db db_;
    std::string root_;
    NewFileHook hook_;
};

} // namespace mail
