// One run of one fetch account: connect to the outside server, log in,
// and bring new mail home into the local mailbox, each message durable
// (written, synced, renamed, directory synced, like every delivery) before
// its progress is recorded in fetch.sqlite, and deleted on the server only
// after that (--delete). Flags (\Seen, \Flagged, \Answered, \Draft) and the
// internal date come along. Mail older than the account's first complete
// run triggers no auto-reply.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "directory/directory.hpp"
#include "fetch/connection.hpp"
#include "fetch/imap.hpp"
#include "fetch/state.hpp"

namespace mail::fetch {

struct Progress {
    std::string folder;
    int64_t messages = 0, total = 0; // this folder
    int64_t bytes = 0, total_bytes = 0;
};

struct SyncOptions {
    int timeout = 60;        // connect and each network step
    int command_time = 600;  // the whole answer to one command
    int idle_seconds = 0;    // > 0: stay in IMAP IDLE on INBOX this long, fetching new mail
    std::function<void(const Progress&)> progress;
};

struct RunResult {
    int64_t messages = 0, bytes = 0;
    std::vector<std::string> warnings; // messages left on the server, and why
    Status status;                     // noperm: the server refused the login
};

Endpoint endpoint_of(const FetchAccount& a, int timeout, int command_time = 600);

RunResult sync_account(const Config& cfg, Directory& dir, State& state, const FetchAccount& a,
                       const std::string& password, const SyncOptions& opt);

// `mail-admin fetch test`: connect, log in, describe what is there.
Result<std::string> test_account(const FetchAccount& a, const std::string& password, int timeout);

// The local folder for a remote one (--all-folders): INBOX stays INBOX,
// special-use folders go to ours (Sent, Drafts...), others keep their
// path with '/' between levels and characters a Maildir++ name cannot
// hold replaced by '_'. Under `into` when it is set.
std::string local_folder(const imap::ListEntry& remote, const std::string& into);

// The new health after a run (what `fetch list` shows): backoff after
// failures, doubling from one minute up to `retry_max`; after
// `max_auth_failures` refused logins in a row, disabled with the reason.
AccountHealth after_run(AccountHealth h, const RunResult& r, int64_t started, int64_t now,
                        int retry_max, int max_auth_failures);

} // namespace mail::fetch
