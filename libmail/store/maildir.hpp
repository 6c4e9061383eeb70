// Maildir++ on disk: unique names, flags in file names, folder names, and
// the durable delivery of one file. The layout of a mailbox:
//   <root>/{tmp,new,cur}          INBOX
//   <root>/.<A>.<B>/{tmp,new,cur} folder A/B (plus an empty "maildirfolder")
//   <root>/index.sqlite           see index.hpp
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/config.hpp"
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

// Create tmp/new/cur for a folder (and the maildirfolder marker), synced.
Status create_folder(const std::string& root, std::string_view folder);
// Create a mailbox with INBOX and the default folders.
Status create_mailbox(const std::string& root);
// List the folders of a mailbox (INBOX first), as IMAP names.
Result<std::vector<std::string>> list_folders(const std::string& root);

// Write a message into <folder>/new durably (into cur/ with `flags`, Maildir
// letters, when it has some); returns the file's base name. `parts` are
// concatenated (added header lines, then the message).
Result<std::string> deliver(const std::string& folder_dir, std::string_view host,
                            const std::vector<std::string_view>& parts, std::string_view flags = {});

} // namespace mail::maildir

namespace mail {
// <mail_root>/<domain>/<local>: where a mailbox's Maildir lives.
std::string mailbox_root(const Config& cfg, const Address& a);
} // namespace mail
