// The delivery side of the queue. Local recipients are delivered by the
// Runner through LocalDelivery (the code behind mail-deliver); remote ones
// by remote.hpp. Both report through record(), which updates the entry
// under its lock, queues bounces and delay warnings, and removes the entry
// when nothing is left.
#pragma once

#include <optional>
#include <string>

#include "base/config.hpp"
#include "deliver/deliver.hpp"
#include "directory/directory.hpp"
#include "spool/spool.hpp"

namespace mail::queue {

// Record what happened to some recipients of entry `id`. The state is
// re-read under the entry's lock, so that local and remote deliveries of
// one entry never undo each other's results. A permanent failure (or a
// temporary one past queue.max_age) is final, and its bounce is queued
// before it is recorded; a temporary one is retried on the backoff
// schedule, with a delay warning once past queue.delay_warning.
Status record(const Config& cfg, const Spool& spool, const std::string& id,
              const std::vector<RecipientStatus>& results, int64_t now);

// When a recipient that failed `attempts` times is tried next.
int64_t retry_delay(const Config& cfg, int attempts);

// Whether `address` is delivered here (its domain is one of ours). An
// address that does not parse counts as local: local delivery refuses it.
Result<bool> is_local(Directory& dir, const std::string& address);

class Runner {
  public:
    Runner(const Config& cfg, const Spool& spool) : cfg_(cfg), spool_(spool) {}
    // Deliver the due local recipients of entry `id` (`force`: everything
    // pending is due). Returns when a local recipient next needs attention,
    // INT64_MAX when none is left, 0 when the entry is gone.
    int64_t process(const std::string& id, int64_t now, bool force);
    // A delivery asked of the service (queue/service.hpp), with the same
    // agent; every recipient a temporary failure when the directory is
    // not there.
    // `safe` as LocalDelivery::deliver's: the service answers there.
    std::vector<RecipientStatus> deliver(std::string_view message, const std::string& sender,
                                         const std::vector<std::string>& recipients,
                                         const LocalDelivery::Safe& safe = {});
    // Index updates and other steps after the store are kept for up to 10
    // messages (1 MiB), as in mail-smtpd; the caller runs them once no
    // work came for a moment (and release() does).
    bool pending() const { return agent_ && agent_->pending(); }
    void finish() {
        if (agent_) agent_->finish();
    }
    // Close the directory and the mailbox indexes kept open between
    // deliveries (before sleeping), so that none is held while idle.
    void release() {
        agent_.reset();
        dir_.reset();
    }

  private:
    Directory* directory();
    const Config& cfg_;
    const Spool& spool_;
    std::optional<Directory> dir_;
    std::optional<LocalDelivery> agent_; // uses *dir_; reset with it
};

} // namespace mail::queue
