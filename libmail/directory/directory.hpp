// directory.sqlite: domains and the addresses in them. Every address is
// exactly one of mailbox, alias or group (one row in `addresses`, unique
// per domain regardless of case). mail-admin writes it; daemons read it.
// Schema history (PRAGMA user_version) lives in directory.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/sqlite.hpp"
#include "message/address.hpp"

namespace mail {

enum class AddressKind { mailbox, alias, group };
const char* kind_name(AddressKind k);

struct DomainInfo {
    std::string name;
    int64_t created = 0;
    int64_t mailboxes = 0, aliases = 0, groups = 0;
};

struct Entry {
    int64_t id = 0;
    Address address; // local part as stored (mailboxes: lower case)
    AddressKind kind = AddressKind::mailbox;
    int64_t created = 0;
    // mailbox
    std::string password_hash;
    uint64_t quota = 0;
    // alias targets or group members
    std::vector<std::string> targets;
};

// A DKIM key's public part; the private key is a file (dkim_key_path).
struct DkimKeyInfo {
    std::string domain, selector, algorithm; // "rsa-sha256" or "ed25519-sha256"
    std::string public_key;                  // the p= value
    int64_t created = 0;
};

// A signature or a disclaimer: plain text and (optional) HTML.
struct TextPair {
    std::string text, html;
};

// A mailbox's out-of-office reply (see deliver/autoreply.hpp).
struct AutoreplySettings {
    std::string address;              // the mailbox
    std::string subject;              // empty: "Auto: <original subject>"
    std::string body, html;           // UTF-8
    int64_t start = 0, until = 0;     // active in [start, until); 0: open
    int64_t interval = 7 * 24 * 3600; // one reply per sender per interval
    std::vector<std::string> extra;   // other addresses of the user (aliases)
};

// An outside mailbox that mail-fetch brings home (fetch/sync.hpp). The
// password is sealed with SecretBox under seal_context().
struct FetchAccount {
    int64_t id = 0;
    std::string address;  // the local mailbox
    std::string protocol; // "imap" or "pop3"
    std::string host;
    int port = 0;
    std::string tls = "implicit"; // implicit, starttls, none
    bool verify = true;           // check the server's certificate and name
    std::string ca_file;          // empty: the system's CAs
    std::string user, sealed_password;
    std::vector<std::string> folders; // IMAP; {"*"}: all folders
    std::string into;                 // local folder; empty: INBOX (or mapped)
    bool keep = true;                 // false: delete on the server after delivery
    int64_t interval = 300;
    bool enabled = true;
    int64_t created = 0, updated = 0;
    bool all_folders() const { return folders.size() == 1 && folders[0] == "*"; }
    std::string seal_context() const;
};

class Directory {
  public:
    // Readers (delivery, daemons) open it read_only: they never write or
    // checkpoint it, and never migrate it.
    static Result<Directory> open(const std::string& path, Db::Access access);

    Status add_domain(const std::string& name);
    Result<std::vector<DomainInfo>> domains();
    Result<DomainInfo> domain(const std::string& name);
    // Whether we receive mail for `name` (a cheap lookup, for delivery).
    Result<bool> has_domain(const std::string& name);
    // Removes the domain and all its addresses (cascade).
    Status remove_domain(const std::string& name);

    // Exact lookup (case-insensitive local part); nouser when absent.
    Result<Entry> lookup(const Address& a);
    Result<std::vector<Entry>> list(std::optional<AddressKind> kind, const std::string& domain);

    Status add_mailbox(const Address& a, const std::string& hash, uint64_t quota);
    Status set_password(const Address& a, const std::string& hash);
    Status set_quota(const Address& a, uint64_t quota);
    // Adds targets to an alias (created when absent) or members to a group.
    Status add_targets(const Address& a, AddressKind kind, const std::vector<std::string>& targets,
                       bool create);
    Status remove_targets(const Address& a, AddressKind kind,
                          const std::vector<std::string>& targets);
    Status remove(const Address& a, AddressKind kind);

    Status add_dkim_key(const DkimKeyInfo& k);
    // All keys (domain ""), or one domain's.
    Result<std::vector<DkimKeyInfo>> dkim_keys(const std::string& domain);
    Status remove_dkim_key(const std::string& domain, const std::string& selector);

    // Signatures (per mailbox), disclaimers (per domain), auto-replies.
    Result<std::optional<TextPair>> signature(const Address& mailbox);
    Status set_signature(const Address& mailbox, const TextPair& s);
    Status remove_signature(const Address& mailbox);
    Result<std::optional<TextPair>> disclaimer(const std::string& domain);
    Status set_disclaimer(const std::string& domain, const TextPair& s);
    Status remove_disclaimer(const std::string& domain);
    Result<std::optional<AutoreplySettings>> autoreply(const Address& mailbox);
    Status set_autoreply(const Address& mailbox, const AutoreplySettings& a);
    Status remove_autoreply(const Address& mailbox);

    // Fetch accounts. `seal` makes the stored password from the new id.
    Result<int64_t> add_fetch_account(const FetchAccount& f,
                                      const std::function<Result<std::string>(int64_t)>& seal);
    // All accounts (address ""), or one mailbox's.
    Result<std::vector<FetchAccount>> fetch_accounts(const std::string& address);
    Result<FetchAccount> fetch_account(int64_t id);
    // column: "enabled" ("0"/"1") or "password" (sealed).
    Status update_fetch_account(int64_t id, std::string_view column, std::string_view value);
    Status remove_fetch_account(int64_t id);

    Db& db() { return db_; }

  private:
    explicit Directory(Db db) : db_(std::move(db)) {}
    Status migrate();
    Result<int64_t> domain_id(const std::string& name);
    Result<int64_t> create_address(const Address& a, AddressKind kind);
    Result<Entry> expect(const Address& a, AddressKind kind);
    Db db_;
};

} // namespace mail
