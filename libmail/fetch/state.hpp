// What mail-fetch remembers between runs, in <state_dir>/fetch.sqlite
// (written by mail-fetch, read and reset by mail-admin; the directory stays
// read-only for daemons). Per account: the health shown by `fetch list`;
// per IMAP folder: UIDVALIDITY and the highest UID delivered; and the keys
// of delivered messages (POP3: UIDL; IMAP: Message-ID and size, for a
// UIDVALIDITY change). Messages are delivered in batches: a batch is
// marked in flight, its files are written, synced and renamed one by one
// (each with a tag naming its origin in the file name), the directories
// synced, then the keys and the folder's progress recorded and the mark
// cleared in one transaction (synchronous=FULL). After a crash the mark
// says to look for tagged files before fetching again: at most the
// message being written is fetched twice.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/sqlite.hpp"

namespace mail::fetch {

struct AccountHealth {
    int64_t first_sync = 0;   // start of the first successful run (0: none yet)
    int64_t last_attempt = 0, last_success = 0;
    std::string last_error;   // the last failure, with the server's text
    int64_t failures = 0;     // in a row, any kind
    int64_t auth_failures = 0; // in a row
    int64_t fetched = 0, bytes = 0; // messages delivered since the account was added
    int64_t next_try = 0;     // backoff: not before this time
    std::string disabled;     // why mail-fetch disabled the account ("": it did not)
};

class State {
  public:
    static Result<State> open(const std::string& state_dir);

    Result<AccountHealth> health(int64_t account);
    Status save_health(int64_t account, const AccountHealth& h);
    // Forget an account (mail-admin fetch remove) or its disabling (enable).
    Status forget(int64_t account);
    Status clear_disabled(int64_t account);

    struct Folder {
        int64_t uidvalidity = 0, last_uid = 0;
    };
    Result<Folder> folder(int64_t account, const std::string& name);
    Status set_folder(int64_t account, const std::string& name, const Folder& f);

    // Keys of delivered messages in one folder ("" for POP3).
    Result<std::unordered_set<std::string>> keys(int64_t account, const std::string& folder);
    // Delivered messages (durable): their keys, the folder's new last UID
    // (IMAP; 0 leaves it), the account's counters, and the in-flight mark
    // cleared, in one transaction.
    Status delivered(int64_t account, const std::string& folder, const std::vector<std::string>& keys,
                     int64_t last_uid, int64_t bytes);
    Status set_in_flight(int64_t account, const std::string& folder);
    Result<bool> in_flight(int64_t account, const std::string& folder);
    // Drop keys no longer on the server (POP3 after a complete run).
    Status prune(int64_t account, const std::string& folder,
                 const std::unordered_set<std::string>& keep);

  private:
    explicit State(Db db) : db_(std::move(db)) {}
    Db db_;
};

// The key of an IMAP message for matching after a UIDVALIDITY change.
std::string message_key(std::string_view message_id, int64_t size);

} // namespace mail::fetch
