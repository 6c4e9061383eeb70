// The queue's scheduling policy, apart from the processes that carry it
// out (tools/mail-queue/run.cpp forks them): which local worker owns an
// entry, which remote recipients are due, and the outbound scheduler that
// groups them by destination and hands out delivery batches within
// outbound.max_connections in all and outbound.max_per_destination each,
// one destination after the other. Retry delays are retry_delay()
// (runner.hpp); a Workers pool keeps the worker processes running.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "base/config.hpp"
#include "directory/directory.hpp"
#include "queue/remote.hpp"
#include "spool/spool.hpp"

namespace mail::queue {

// Which of n local workers delivers entry `id`: a stable hash, the same
// owner in every process.
unsigned owner_of(std::string_view id, unsigned n);

// Whether a scan should look at an entry now: its state's hint says so,
// or the hint is beyond any retry (the clock went back).
bool due_by_scan(const Config& cfg, const Scanned& e, int64_t now);

// The remote recipients of one entry that are due now, by destination.
struct DueRemote {
    std::map<std::string, std::vector<std::string>> by_destination;
    int64_t next = INT64_MAX; // when the others are due (INT64_MAX: none left)
    bool gone = false;        // the entry has left the spool
};

// Read entry `id` (`force`: every pending recipient is due). Trouble
// reading it or the directory is a look again after queue.retry_min.
DueRemote due_remote(const Config& cfg, const Spool& spool, Directory& dir, const std::string& id, int64_t now,
                     bool force);

// Some messages for one destination, over one connection.
struct Batch {
    std::string destination;
    std::vector<Job> jobs;
};

class Outbound {
  public:
    // The entry, and whether every pending recipient is due (a flush).
    using Look = std::function<DueRemote(const std::string& id, bool force)>;
    // At most `limit` entries are held at once (Postfix's
    // qmgr_message_active_limit); a scan leaves the others on disk for later.
    explicit Outbound(const Config& cfg, size_t limit = 20000) : cfg_(cfg), limit_(limit) {}

    // An entry to look at now: a new one, or one a scan found due
    // (`forced`: all its pending recipients, for mail-queue flush).
    void arrived(const std::string& id, bool forced = false);
    bool full() const { return entries_.size() >= limit_; }
    // Look at the entries that are due and not being delivered; their due
    // recipients wait for a connection to their destination. An entry
    // whose next look is after `horizon` (the next scan) is let go: that
    // scan finds it again by its state file (Spool::each).
    void plan(const Look& look, int64_t now, int64_t horizon);
    std::optional<Batch> next_batch();
    void started(pid_t pid, const Batch& b);
    void not_started(const Batch& b); // the process could not start: try later
    // A delivery process ended: its entries are looked at again (after a
    // crash, not before queue.retry_min). Its destination; nullopt: not
    // one of ours.
    std::optional<std::string> ended(pid_t pid, bool crashed, int64_t now);

    bool idle() const { return children_.empty() && dests_.empty(); }
    std::vector<pid_t> children() const;
    // When something is next due (at the latest `until`).
    int64_t wake(int64_t until) const;

  private:
    struct Destination {
        std::deque<Job> waiting;
        int running = 0;
    };
    struct Child {
        std::string destination;
        std::vector<std::string> ids;
    };
    void drop_idle_destinations();
    const Config& cfg_;
    size_t limit_;
    std::map<std::string, int64_t> entries_; // id -> next remote look (0: now, -1: now, forced)
    std::map<std::string, int> busy_;        // id -> deliveries waiting or running
    std::map<std::string, Destination> dests_;
    std::map<pid_t, Child> children_;
    size_t running_ = 0;    // batches handed out and not ended
    std::string last_;      // the destination of the last batch (the turn)
};

// The worker processes of `mail-queue run`: numbers 1..n-1 run `body` in
// child processes (0 is the caller), restarted when one ends, stopped with
// the pool. lock_fd (the runner's lock) is closed in the children, so that
// a new runner may start once the parent dies.
class Workers {
  public:
    Workers(unsigned n, int lock_fd, std::function<int(unsigned)> body)
        : pids_(n, 0), lock_fd_(lock_fd), body_(std::move(body)) {}
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;
    ~Workers();
    // Reap the workers that ended and start the missing ones (not when
    // `stopping`).
    void keep_running(bool stopping);

  private:
    std::vector<pid_t> pids_;
    int lock_fd_;
    std::function<int(unsigned)> body_;
};

} // namespace mail::queue
