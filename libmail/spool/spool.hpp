// The queue directory (see mail-queue(8), "QUEUE FORMAT"):
//
//   queue/tmp/ID     being written; never read; removed when older than a day
//   queue/mess/ID    an accepted message: envelope + message (envelope.hpp).
//                    Commit point: rename tmp/ID -> mess/ID, then fsync of
//                    mess/. Only after that is 250 answered.
//   queue/state/ID   what has happened to each recipient, once anything has;
//                    replaced atomically (write, fsync, rename). Its mtime
//                    is the earliest next attempt (a hint for scans, as
//                    Postfix's deferred queue files have).
//   queue/lock       held (flock) by the one `mail-queue run`
//
// tmp/ and mess/ may be shared with mail-smtpd under a user of its own
// (base/owner.hpp): then its files are 0640 in the store's group.
//
// An entry is removed (state first, then mess) when every recipient is done
// or failed and any bounce is itself queued. A crash between a delivery and
// the state update repeats that delivery: at least once, never lost.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.hpp"
#include "base/files.hpp"
#include "spool/envelope.hpp"

namespace mail::queue {

enum class RcptStatus { pending, done, failed };

struct RcptState {
    std::string address;
    RcptStatus status = RcptStatus::pending;
    int attempts = 0;
    int64_t next = 0; // time of the next attempt (pending)
    std::string dsn;  // last result, "4.2.2"
    std::string text; // last result text (one line)
    bool warned = false; // a delay warning was sent (stored as status "delayed")
};

std::string format_state(const std::vector<RcptState>& s);

// A queued message as read from disk: the file, where the message starts,
// its envelope and what has happened to each recipient.
struct Entry {
    std::string file;
    size_t body = 0;
    Envelope env;
    std::vector<RcptState> state;
    std::string_view message() const { return std::string_view(file).substr(body); }
};
Result<std::vector<RcptState>> parse_state(std::string_view text);

// One entry as a scan sees it, without reading it: its id, when a
// recipient is next due by its state file's mtime (0: no state yet, so
// now), and when that state was last written (ns; 0: never).
struct Scanned {
    std::string_view id;
    int64_t due = 0;
    int64_t changed_ns = 0;
};

class Spool {
  public:
    // Creates the directories when missing.
    static Result<Spool> open(const std::string& dir);
    const std::string& dir() const { return dir_; }
    // Whether this process is not the queue's owner (see below).
    bool shared() const { return shared_; }
    std::string new_id() const;
    std::string tmp_path(const std::string& id) const { return dir_ + "/tmp/" + id; }
    std::string mess_path(const std::string& id) const { return dir_ + "/mess/" + id; }
    std::string state_path(const std::string& id) const { return dir_ + "/state/" + id; }

    // Start a new entry: its envelope is written first.
    Result<DurableFile> create(const Envelope& env) const;
    Status commit(DurableFile& file, const std::string& id) const {
        return file.commit(mess_path(id));
    }
    // Queue a whole message at once (bounces, autoreplies).
    Status add(Envelope& env, std::string_view message) const;

    Result<std::vector<std::string>> ids() const; // sorted, oldest first
    // Every entry in mess/, one at a time, in no order, nothing kept (the
    // runner's scans: their memory does not grow with the queue). `fn` may
    // deliver and remove the entry it is given.
    Status each(const std::function<void(const Scanned&)>& fn) const;
    // Errors: noinput (the entry is gone), data (not readable as a queue
    // entry: left in place for a person to look at), tempfail.
    // With `whole` false, only the envelope and state are read (message()
    // is then incomplete): enough to schedule.
    Result<Entry> load(const std::string& id, bool whole = true) const;
    // Hold entry `id` against other updates of its state (flock on the
    // queue file) while the descriptor is open. noinput when it is gone.
    Result<Fd> lock(const std::string& id) const;
    Status save_state(const std::string& id, const std::vector<RcptState>& s) const;
    Status remove(const std::string& id) const;
    // Remove files in tmp/ older than `age` seconds: what a killed
    // mail-smtpd left behind (never acknowledged, so never owed).
    void sweep_tmp(int64_t now, int64_t age) const;

  private:
    explicit Spool(std::string dir) : dir_(std::move(dir)) {}
    // No state file yet: every recipient pending, never tried.
    Result<std::vector<RcptState>> state(const std::string& id, const Envelope& env) const;
    std::string dir_;
    // Not the queue's owner (mail-smtpd under a user of its own): entries
    // are made 0640 so that the owner reads them through the group.
    bool shared_ = false;
};

std::string spool_dir(const Config& cfg);

} // namespace mail::queue
