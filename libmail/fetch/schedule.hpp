// Which outside accounts mail-fetch runs, and when: the policy, apart from
// the processes that carry it out (tools/mail-fetch forks one per account).
// --once runs the chosen accounts a single time; --daemon asks a Schedule,
// every second, which accounts to start and which running ones to stop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "directory/directory.hpp"
#include "fetch/state.hpp"

namespace mail::fetch {

using HealthOf = std::function<Result<AccountHealth>(int64_t account)>;

// An account left out of a pass, and why (for the log).
struct Skip {
    FetchAccount account;
    std::string why;
    bool disabled = false; // disabled by failures (a warning), not waiting
};

// --once: the enabled accounts of the addresses and numbers named (all when
// none), not disabled by failures, and not waiting in a backoff unless they
// were named. A name that matches no account is Errc::nouser.
Result<std::vector<FetchAccount>> pass_accounts(const std::vector<FetchAccount>& all,
                                                const std::vector<std::string>& addresses,
                                                const std::vector<int64_t>& ids, const HealthOf& health,
                                                int64_t now, std::vector<Skip>* skipped);

// What runs now, as the daemon sees it.
struct Running {
    int64_t account = 0, updated = 0; // updated: the settings it started with
    bool idle = false;                // an IMAP IDLE session, not a plain run
};

struct Start {
    FetchAccount account;
    bool idle = false; // hold IDLE on the remote INBOX for idle_seconds
    int idle_seconds = 0;
};

class Schedule {
  public:
    Schedule(int max_parallel, int max_idle) : max_parallel_(max_parallel), max_idle_(max_idle) {}

    // The running accounts to stop: removed, disabled or changed since they
    // started. A changed one may start again at once with its new settings.
    std::vector<int64_t> to_stop(const std::vector<FetchAccount>& accounts, const std::vector<Running>& running);
    // The accounts to start now: enabled, not running, due, healthy, within
    // max_parallel plain runs and max_idle IDLE sessions (an account that
    // could IDLE runs plainly when the IDLE sessions are all taken). Each
    // returned is taken as started: its next run is one interval away (an
    // IDLE session lasts one interval; a plain run waits one).
    std::vector<Start> to_start(const std::vector<FetchAccount>& accounts, const std::vector<Running>& running,
                                const HealthOf& health, int64_t now);

  private:
    int max_parallel_, max_idle_;
    std::map<int64_t, int64_t> due_; // account -> not before
};

} // namespace mail::fetch
