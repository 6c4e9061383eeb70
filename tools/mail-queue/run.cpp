// `mail-queue run`: wait for work with inotify (a new file in mess/, or
// `mail-queue flush` touching queue/flush), deliver what is due, and sleep
// until the next retry. A full rescan every minute catches anything an
// event missed. One runner at a time (flock on queue/lock).
#include <climits>
#include <deque>
#include <optional>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <sys/file.h>
#include <functional>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "queue/remote.hpp"
#include "queue/runner.hpp"

using namespace mail;

namespace {

constexpr int64_t rescan_interval = 60;
constexpr int64_t tmp_max_age = 36 * 3600;
volatile sig_atomic_t stopping = 0;
void on_term(int) { stopping = 1; }
void on_child(int) {}

// Names of new entries (and whether a flush was asked) from inotify events.
void read_events(int fd, std::vector<std::string>& fresh, bool& flush) {
    alignas(inotify_event) char buf[16384];
    ssize_t n = ::read(fd, buf, sizeof buf);
    for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        std::string name = ev->len ? ev->name : "";
        if (name == "flush") flush = true;
        else if (!name.empty() && name[0] != '.') fresh.push_back(name);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
}

// inotify on new entries in mess/ and on queue/flush (logged when it fails).
Fd watch_queue(const queue::Spool& spool) {
    Fd ino(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!ino || inotify_add_watch(ino.get(), (spool.dir() + "/mess").c_str(), IN_MOVED_TO) < 0 ||
        inotify_add_watch(ino.get(), spool.dir().c_str(), IN_CLOSE_WRITE) < 0) {
        log::err("queue.inotify", "inotify on {}: {}", spool.dir(), std::strerror(errno));
        return Fd();
    }
    return ino;
}

bool mine(const std::string& id, unsigned k, unsigned n) {
    uint32_t h = 2166136261u; // FNV-1a: the same owner in every process
    for (unsigned char c : id) h = (h ^ c) * 16777619u;
    return h % n == k;
}

class Workers {
  public:
    Workers(unsigned n, int lock_fd, std::function<int(unsigned)> body)
        : pids_(n, 0), lock_fd_(lock_fd), body_(std::move(body)) {}
    // Start (or restart) every worker but number 0, which is this process.
    void keep_running() {
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
                ::close(lock_fd_); // the lock is the parent's: a new runner may start once it dies
                _exit(body_(k));
            }
            if (pids_[k] < 0) pids_[k] = 0;
        }
    }
    ~Workers() {
        for (pid_t p : pids_)
            if (p > 0) kill(p, SIGTERM), waitpid(p, nullptr, 0);
    }

  private:
    std::vector<pid_t> pids_;
    int lock_fd_;
    std::function<int(unsigned)> body_;
};

// One worker: the entries whose id hashes to k of n.
int work(const Config& cfg, const queue::Spool& spool, bool once, unsigned k, unsigned n,
         Workers* workers) {
    queue::Runner runner(cfg, spool);
    Fd ino = watch_queue(spool);
    if (!ino) return mail::exit_status(mail::Errc::tempfail);
    std::map<std::string, int64_t> due; // id -> next attempt
    int64_t next_scan = 0;
    bool force = once;
    while (!stopping) {
        if (workers) workers->keep_running();
        int64_t now = mail::now();
        if (now >= next_scan) {
            if (auto ids = spool.ids()) {
                std::map<std::string, int64_t> fresh; // forget entries removed by others
                for (auto& id : *ids)
                    if (mine(id, k, n)) fresh.emplace(id, due.count(id) ? due[id] : 0);
                due.swap(fresh);
            }
            if (k == 0) spool.sweep_tmp(now, tmp_max_age);
            next_scan = now + rescan_interval;
        }
        for (auto it = due.begin(); it != due.end() && !stopping;) {
            if (!force && it->second > now) {
                ++it;
                continue;
            }
            int64_t next = runner.process(it->first, now, force);
            if (next == 0) it = due.erase(it);
            else it->second = next, ++it;
        }
        force = false;
        if (once) break;
        runner.release();
        int64_t wake = next_scan;
        for (auto& [id, t] : due) wake = std::min(wake, t);
        pollfd p{ino.get(), POLLIN, 0};
        int wait_ms = static_cast<int>(std::clamp<int64_t>(wake - mail::now(), 0, 60) * 1000);
        if (poll(&p, 1, wait_ms) > 0) {
            std::vector<std::string> fresh;
            bool flush = false;
            read_events(ino.get(), fresh, flush);
            for (auto& id : fresh)
                if (mine(id, k, n)) due[id] = 0;
            if (flush) next_scan = 0, force = true;
        }
    }
    return 0;
}

// The outbound scheduler: finds the due remote recipients of every entry,
// groups them by destination and starts a delivery process per
// destination (remote.hpp), within outbound.max_connections in all and
// outbound.max_per_destination each. `once`: one pass, waiting for the
// deliveries to end.
int outbound(const Config& cfg, const queue::Spool& spool, bool once) {
    Fd ino = watch_queue(spool);
    if (!ino) return mail::exit_status(mail::Errc::tempfail);
    struct Destination {
        std::deque<queue::Job> waiting;
        int running = 0;
    };
    struct Child {
        std::string destination;
        std::vector<std::string> ids;
    };
    std::map<std::string, int64_t> entries; // id -> next remote attempt (0: look again)
    std::map<std::string, int> busy;        // id -> deliveries waiting or running
    std::map<std::string, Destination> dests;
    std::map<pid_t, Child> children;
    std::optional<Directory> dir;
    int64_t next_scan = 0;
    bool force = once;
    int passes = 0; // `once`: schedule in the first pass only
    while (!stopping) {
        int64_t now = mail::now();
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            auto it = children.find(pid);
            if (it == children.end()) continue;
            bool crashed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            if (crashed) log::warn("queue.remote", "delivery to {} ended abnormally (status {})",
                                   it->second.destination, status);
            dests[it->second.destination].running--;
            for (auto& id : it->second.ids) {
                if (--busy[id] == 0) busy.erase(id);
                // Look at the entry again (its state has the next attempt);
                // after a crash, not before the first retry.
                entries[id] = crashed ? now + cfg.queue.retry_min : 0;
            }
            children.erase(it);
        }
        if (now >= next_scan) {
            if (auto ids = spool.ids()) {
                std::map<std::string, int64_t> fresh;
                for (auto& id : *ids) fresh.emplace(id, entries.count(id) ? entries[id] : 0);
                entries.swap(fresh);
            }
            next_scan = now + rescan_interval;
            dir.reset(); // see directory changes
        }
        if (!dir) {
            auto d = Directory::open(cfg.directory_path(), Db::Access::read_only);
            if (!d) log::error("queue.directory", d.error());
            else dir.emplace(std::move(*d));
        }
        for (auto it = entries.begin(); dir && !(once && passes > 0) && it != entries.end();) {
            auto& [id, next] = *it;
            if (busy.count(id) || (!force && next > now)) {
                ++it;
                continue;
            }
            auto e = spool.load(id, false);
            if (!e) {
                if (e.error().code == Errc::noinput) {
                    it = entries.erase(it);
                    continue;
                }
                next = now + cfg.queue.retry_min;
                ++it;
                continue;
            }
            std::map<std::string, std::vector<std::string>> due;
            next = INT64_MAX;
            for (auto& r : e->state) {
                if (r.status != queue::RcptStatus::pending) continue;
                auto local = queue::is_local(*dir, r.address);
                if (!local) {
                    next = now + cfg.queue.retry_min;
                    break;
                }
                if (*local) continue;
                if (force || r.next <= now) due[queue::destination_of(cfg, r.address)].push_back(r.address);
                else next = std::min(next, r.next);
            }
            for (auto& [d, rcpts] : due) {
                dests[d].waiting.push_back(queue::Job{id, rcpts});
                busy[id]++;
            }
            ++it;
        }
        force = false;
        passes++;
        // Start deliveries, one destination after the other, round robin.
        for (bool started = true; started && !stopping;) {
            started = false;
            for (auto& [name, d] : dests) {
                if (d.waiting.empty() || d.running >= cfg.outbound.max_per_destination ||
                    children.size() >= static_cast<size_t>(cfg.outbound.max_connections))
                    continue;
                std::vector<queue::Job> batch;
                while (!d.waiting.empty() &&
                       batch.size() < static_cast<size_t>(cfg.outbound.messages_per_connection)) {
                    batch.push_back(std::move(d.waiting.front()));
                    d.waiting.pop_front();
                }
                pid_t parent = getpid();
                pid_t child = fork();
                if (child == 0) {
                    signal(SIGTERM, SIG_DFL);
                    signal(SIGINT, SIG_DFL);
                    prctl(PR_SET_PDEATHSIG, SIGTERM);
                    if (getppid() != parent) _exit(0);
                    queue::Signer signer(cfg);
                    queue::deliver_remote(cfg, spool, name, batch, signer);
                    _exit(0);
                }
                if (child < 0) { // try again at the next turn
                    for (auto it = batch.rbegin(); it != batch.rend(); ++it) d.waiting.push_front(*it);
                    break;
                }
                Child c{name, {}};
                for (auto& j : batch) c.ids.push_back(j.id);
                children.emplace(child, std::move(c));
                d.running++;
                started = true;
            }
        }
        for (auto it = dests.begin(); it != dests.end();)
            it = it->second.waiting.empty() && it->second.running == 0 ? dests.erase(it) : std::next(it);
        if (once && children.empty() && dests.empty()) break;
        int64_t wake = next_scan;
        for (auto& [id, t] : entries)
            if (!busy.count(id)) wake = std::min(wake, t);
        int64_t wait_s = std::clamp<int64_t>(wake - mail::now(), 0, 60);
        int wait_ms = children.empty() ? static_cast<int>(wait_s * 1000) : std::min<int>(wait_s * 1000, 200);
        pollfd p{ino.get(), POLLIN, 0};
        if (poll(&p, 1, wait_ms) > 0) {
            std::vector<std::string> fresh;
            bool flush = false;
            read_events(ino.get(), fresh, flush);
            for (auto& id : fresh)
                if (!busy.count(id)) entries[id] = 0;
            if (flush) next_scan = 0, force = true;
        }
    }
    for (auto& [p, c] : children) kill(p, SIGTERM);
    for (auto& [p, c] : children) waitpid(p, nullptr, 0);
    return 0;
}

} // namespace

int run_daemon(const Config& cfg, const queue::Spool& spool, bool once) {
    Fd lock(::open((spool.dir() + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        log::err("queue.lock", "another mail-queue run is active (lock {}/lock)", spool.dir());
        return mail::exit_status(mail::Errc::tempfail);
    }
    struct sigaction sa {};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // --once is one sequential pass; the daemon spreads entries over workers
    // so that one slow delivery (or fsync) does not hold up the rest.
    unsigned n = once ? 1 : static_cast<unsigned>(cfg.queue.workers);
    log::info("queue.start", "delivering from {} with {} workers", spool.dir(), n);
    sa.sa_handler = on_child; // a worker's end interrupts poll(), so it is restarted soon
    sigaction(SIGCHLD, &sa, nullptr);
    if (once) {
        int rc = work(cfg, spool, true, 0, 1, nullptr);
        int rc2 = outbound(cfg, spool, true);
        log::info("queue.stop", "stopped");
        return rc ? rc : rc2;
    }
    // Processes 1..n-1 deliver locally with this one; process n schedules
    // remote deliveries.
    Workers workers(n + 1, lock.get(), [&](unsigned k) {
        return k == n ? outbound(cfg, spool, false) : work(cfg, spool, false, k, n, nullptr);
    });
    int rc = work(cfg, spool, false, 0, n, &workers);
    log::info("queue.stop", "stopped");
    return rc;
}
