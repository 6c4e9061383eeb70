#include "queue/schedule.hpp"

#include <algorithm>
#include <csignal>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.hpp"
#include "queue/runner.hpp"

namespace mail::queue {

unsigned owner_of(std::string_view id, unsigned n) {
    uint32_t h = 2166136261u; // FNV-1a
    for (unsigned char c : id) h = (h ^ c) * 16777619u;
    return h % n;
}

bool due_by_scan(const Config& cfg, const Scanned& e, int64_t now) {
    return e.due <= now || e.due > now + cfg.queue.retry_max;
}

DueRemote due_remote(const Config& cfg, const Spool& spool, Directory& dir, const std::string& id, int64_t now,
                     bool force) {
    DueRemote out;
    auto e = spool.load(id, false);
    if (!e) {
        if (e.error().code == Errc::noinput) out.gone = true;
        else out.next = now + cfg.queue.retry_min;
        return out;
    }
    for (auto& r : e->state) {
        if (r.status != RcptStatus::pending) continue;
        auto local = is_local(dir, r.address);
        if (!local) {
            out.by_destination.clear();
            out.next = now + cfg.queue.retry_min;
            return out;
        }
        if (*local) continue;
        if (force || r.next <= now) out.by_destination[destination_of(cfg, r.address)].push_back(r.address);
        else out.next = std::min(out.next, r.next);
    }
    return out;
}

void Outbound::arrived(const std::string& id, bool forced) {
    if (busy_.count(id)) return;
    auto [it, added] = entries_.emplace(id, forced ? -1 : 0);
    if (!added && forced) it->second = -1; // else what it knows is newer than a scan's hint
}

void Outbound::plan(const Look& look, int64_t now, int64_t horizon) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        auto& [id, next] = *it;
        if (busy_.count(id) || next > now) {
            ++it;
            continue;
        }
        DueRemote due = look(id, next < 0);
        next = due.next;
        for (auto& [d, rcpts] : due.by_destination) {
            dests_[d].waiting.push_back(Job{id, rcpts});
            busy_[id]++;
        }
        // Being delivered: ended() brings it back.
        it = due.gone || next > horizon ? entries_.erase(it) : std::next(it);
    }
}

std::optional<Batch> Outbound::next_batch() {
    if (running_ >= static_cast<size_t>(cfg_.outbound.max_connections)) return std::nullopt;
    // The destinations after the last one served come first, then the rest.
    auto first = dests_.upper_bound(last_);
    for (size_t n = 0; n < dests_.size(); n++, first++) {
        if (first == dests_.end()) first = dests_.begin();
        auto& [name, d] = *first;
        if (d.waiting.empty() || d.running >= cfg_.outbound.max_per_destination) continue;
        Batch b{name, {}};
        while (!d.waiting.empty() && b.jobs.size() < static_cast<size_t>(cfg_.outbound.messages_per_connection)) {
            b.jobs.push_back(std::move(d.waiting.front()));
            d.waiting.pop_front();
        }
        d.running++;
        running_++;
        last_ = name;
        return b;
    }
    return std::nullopt;
}

void Outbound::started(pid_t pid, const Batch& b) {
    Child c{b.destination, {}};
    for (auto& j : b.jobs) c.ids.push_back(j.id);
    children_.emplace(pid, std::move(c));
}

void Outbound::not_started(const Batch& b) {
    auto& d = dests_[b.destination];
    for (auto it = b.jobs.rbegin(); it != b.jobs.rend(); ++it) d.waiting.push_front(*it);
    d.running--;
    running_--;
}

std::optional<std::string> Outbound::ended(pid_t pid, bool crashed, int64_t now) {
    auto it = children_.find(pid);
    if (it == children_.end()) return std::nullopt;
    std::string destination = it->second.destination;
    dests_[it->second.destination].running--;
    running_--;
    for (auto& id : it->second.ids) {
        if (--busy_[id] == 0) busy_.erase(id);
        // Look at the entry again (its state has the next attempt); after a
        // crash, not before the first retry.
        entries_[id] = crashed ? now + cfg_.queue.retry_min : 0;
    }
    children_.erase(it);
    drop_idle_destinations();
    return destination;
}

void Outbound::drop_idle_destinations() {
    for (auto it = dests_.begin(); it != dests_.end();)
        it = it->second.waiting.empty() && it->second.running == 0 ? dests_.erase(it) : std::next(it);
}

std::vector<pid_t> Outbound::children() const {
    std::vector<pid_t> out;
    for (auto& [pid, c] : children_) out.push_back(pid);
    return out;
}

int64_t Outbound::wake(int64_t until) const {
    for (auto& [id, t] : entries_)
        if (!busy_.count(id)) until = std::min(until, std::max<int64_t>(t, 0));
    return until;
}

void Workers::keep_running(bool stopping) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (auto& p : pids_)
            if (p == pid) {
                log::warn("queue.worker", "worker {} ended (status {}); restarting it", pid, status);
                p = 0;
            }
    for (unsigned k = 1; k < pids_.size(); k++) {
        if (pids_[k] || stopping) continue;
        pid_t parent = getpid();
        pids_[k] = fork();
        if (pids_[k] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) _exit(0);
            ::close(lock_fd_);
            _exit(body_(k));
        }
        if (pids_[k] < 0) pids_[k] = 0;
    }
}

Workers::~Workers() {
    for (pid_t p : pids_)
        if (p > 0) kill(p, SIGTERM), waitpid(p, nullptr, 0);
}

} // namespace mail::queue
