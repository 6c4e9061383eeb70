// Maildir++ on disk: unique names, flags in file names, folder names, and
// the durable delivery of one file. The layout of a mailbox:
//   <root>/{tmp,new,cur}          INBOX
//   <root>/.<A>.<B>/{tmp,new,cur} folder A/B (plus an empty "maildirfolder")
//   <root>/index.sqlite           see index.hpp
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.hpp"
#include "base/files.hpp"
#include "base/result.hpp"
#include "message/address.hpp"

namespace mail::maildir {

// Folders every new mailbox gets (their IMAP special-use flags come later).
inline const std::vector<std::string> default_folders = {"Sent", "Drafts", "Trash", "Junk",
                                                         "Archive"};

// "SECONDS.M<usec>P<pid>Q<n>.<host>,S=<size>"; host with '/' and ':' escaped.
// A `tag` (letters and digits) goes after Q<n> as "_<tag>": mail-fetch
// marks where a message came from, to recognise it after a crash.
std::string unique_name(std::string_view host, size_t size, std::string_view tag = {});

struct FileName {
    std::string base;  // unique part, before ":2,"
    std::string flags; // standard flag letters, sorted ("FRS")
};
FileName split_name(std::string_view filename);
std::string join_name(const FileName& n); // base, plus ":2,flags" when it has flags or is in cur/
// Keep only valid flag letters (DFPRST and a-z), sorted, without duplicates.
std::string normalize_flags(std::string_view flags);
// Size from ",S=<n>" in the base name, or -1.
long long size_from_name(std::string_view base);

// A folder name as IMAP spells it: components separated by '/'. "INBOX"
// (any case) or "" is the root. Refuses anything that could leave the
// mailbox: empty components, '.', "..", "~", new/cur/tmp, control bytes.
bool valid_folder_name(std::string_view name);
std::string folder_path(const std::string& root, std::string_view folder);
bool is_inbox(std::string_view folder);

// A mailbox's local part as a directory name: letters, digits, UTF-8, '.',
// '-', '_' ; not starting with '.'.
bool valid_mailbox_dirname(std::string_view local);

// What is at a folder's directory (the mailbox root for INBOX): its
// tmp/, new/ and cur/ checked with lstat. `link` when any of them is a
// symbolic link or not a directory (logged; `refused`): the store never follows one,
// it could lead into another mailbox or out of the store.
enum class FolderKind { missing, real, refused };
FolderKind folder_kind(const std::string& folder_dir);
inline bool real_folder(const std::string& folder_dir) { return folder_kind(folder_dir) == FolderKind::real; }

// Create tmp/new/cur for a folder (and the maildirfolder marker), synced.
Status create_folder(const std::string& root, std::string_view folder);
// Create a mailbox with INBOX and the default folders.
Status create_mailbox(const std::string& root);
// List the folders of a mailbox (INBOX first), as IMAP names.
Result<std::vector<std::string>> list_folders(const std::string& root);

// The directories a batch of deliveries wrote into, synced once at the
// end: no message counts as delivered before sync() succeeds.
class DirSync {
  public:
    void add(std::string dir);
    Status sync();

  private:
    std::set<std::string> dirs_;
};

// The one Maildir writer: a message streamed into <folder>/tmp, then
// synced and moved into new/ (cur/ when it has flags or `cur`) under a
// unique name with its size, retrying under a new name should one be
// taken (never replacing a file). The directory is synced at once, or
// later by the caller's DirSync for many messages. An uncommitted file is
// removed from tmp/.
class MessageFile {
  public:
    // `tag`: see unique_name().
    static Result<MessageFile> create(const std::string& folder_dir, std::string_view host, std::string_view tag = {});
    Status write(std::string_view data) { return file_.write(data); }
    uint64_t size() const { return file_.size(); }
    void set_mtime(int64_t seconds) { file_.set_mtime(seconds); }
    // The tag of the final name, when known only at the end.
    void set_tag(std::string tag) { tag_ = std::move(tag); }
    // Returns the base name (before ":2,"). With `later` the directory
    // joins it instead of being synced now.
    Result<std::string> commit(std::string_view flags, bool cur = false, DirSync* later = nullptr);

  private:
    MessageFile(DurableFile f, std::string dir, std::string host, std::string tag)
        : file_(std::move(f)), dir_(std::move(dir)), host_(std::move(host)), tag_(std::move(tag)) {}
    DurableFile file_;
    std::string dir_, host_, tag_;
};

// A whole message at once through MessageFile, synced: `parts` are
// concatenated (added header lines, then the message); into cur/ with
// `flags` (Maildir letters) when it has some. Returns the base name.
Result<std::string> deliver(const std::string& folder_dir, std::string_view host,
                            const std::vector<std::string_view>& parts, std::string_view flags = {});

} // namespace mail::maildir

namespace mail {
// <mail_root>/<domain>/<local>: where a mailbox's Maildir lives.
std::string mailbox_root(const Config& cfg, const Address& a);
} // namespace mail
