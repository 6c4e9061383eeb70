// The delivery side of the queue: one pass over an entry delivers its due
// local recipients through LocalDelivery (the code behind mail-deliver),
// records what happened, queues a bounce for permanent failures and
// removes the entry when nothing is left. Remote recipients wait, visible
// in `mail-queue list`, until outbound delivery exists.
#pragma once

#include <optional>
#include <string>

#include "base/config.hpp"
#include "deliver/deliver.hpp"
#include "directory/directory.hpp"
#include "queue/spool.hpp"

namespace mail::queue {

class Runner {
  public:
    Runner(const Config& cfg, const Spool& spool) : cfg_(cfg), spool_(spool) {}
    // Work on entry `id` if anything in it is due (`force`: everything
    // pending is due). Returns when it next needs attention (0: removed).
    int64_t process(const std::string& id, int64_t now, bool force);
    // Close the directory and the mailbox indexes kept open between
    // deliveries (before sleeping), so that none is held while idle.
    void release() {
        agent_.reset();
        dir_.reset();
    }

  private:
    Directory* directory();
    int64_t retry_delay(int attempts) const;
    const Config& cfg_;
    const Spool& spool_;
    std::optional<Directory> dir_;
    std::optional<LocalDelivery> agent_; // uses *dir_; reset with it
};

constexpr const char* remote_waiting = "waiting for outbound delivery (not available yet)";

} // namespace mail::queue
