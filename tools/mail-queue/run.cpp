// `mail-queue run`: wait for work with inotify (a new file in mess/, or
// `mail-queue flush` touching queue/flush), deliver what is due, and sleep
// until the next retry. A full rescan every minute catches anything an
// event missed. One runner at a time (flock on queue/lock).
#include <optional>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "queue/remote.hpp"
#include "queue/runner.hpp"
#include "queue/schedule.hpp"
#include "deliver/request.hpp"
#include "queue/service.hpp"

using namespace mail;

namespace {

constexpr int64_t rescan_interval = 60;
constexpr int64_t tmp_max_age = 36 * 3600;
volatile sig_atomic_t stopping = 0;
void on_term(int) { stopping = 1; }
void on_child(int) {}

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

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

// mail-deliver's requests waiting on the service socket, each delivered by
// this worker (the listening socket is shared: another may take them).
void serve_requests(const Config& cfg, queue::Runner& runner, int service) {
    for (;;) {
        int c = accept4(service, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        queue::serve_delivery(cfg, runner, c);
        ::close(c);
    }
}

// One worker: the entries whose id hashes to k of n, and mail-deliver's
// requests (`service`, -1: none).
int work(const Config& cfg, const queue::Spool& spool, bool once, unsigned k, unsigned n,
         queue::Workers* workers, int service = -1) {
    queue::Runner runner(cfg, spool);
    Fd ino = watch_queue(spool);
    if (!ino) return mail::exit_status(mail::Errc::tempfail);
    // id -> next attempt, for the entries with local work due before the
    // next scan; the others wait on disk until a scan finds them due, so
    // that memory does not grow with the queue.
    std::map<std::string, int64_t> due;
    int64_t next_scan = 0;
    bool force = once;
    while (!stopping) {
        if (workers) workers->keep_running(stopping);
        int64_t now = mail::now();
        if (now >= next_scan) {
            next_scan = now + rescan_interval;
            Status s = spool.each([&](const queue::Scanned& e) {
                if (stopping || queue::owner_of(e.id, n) != k || (!force && !queue::due_by_scan(cfg, e, now))) return;
                std::string id(e.id);
                if (due.count(id)) return; // below
                int64_t next = runner.process(id, now, force);
                if (next != 0 && next <= next_scan) due[id] = next;
            });
            if (!s) log::error("queue.scan", s.error());
            if (k == 0) spool.sweep_tmp(now, tmp_max_age);
        }
        for (auto it = due.begin(); it != due.end() && !stopping;) {
            if (!force && it->second > now) {
                ++it;
                continue;
            }
            int64_t next = runner.process(it->first, now, force);
            if (next == 0 || next > next_scan) it = due.erase(it);
            else it->second = next, ++it;
        }
        force = false;
        if (once) break;
        int64_t wake = next_scan;
        for (auto& [id, t] : due) wake = std::min(wake, t);
        pollfd p[2] = {{ino.get(), POLLIN, 0}, {service, POLLIN, 0}};
        nfds_t np = service >= 0 ? 2 : 1;
        int wait_ms = static_cast<int>(std::clamp<int64_t>(wake - mail::now(), 0, 60) * 1000);
        // The index updates kept for a batch are done once nothing came
        // for 0.1 s. The directory and the indexes stay open for a second,
        // for the next delivery; then they are let go until there is work.
        int ready = 0;
        if (runner.pending() && (ready = poll(p, np, std::min(wait_ms, 100))) == 0) runner.finish();
        if (ready == 0) {
            ready = poll(p, np, std::min(wait_ms, 1000));
            if (ready == 0 && wait_ms > 1000) {
                runner.release();
                ready = poll(p, np, wait_ms - 1000);
            }
        }
        if (ready > 0 && np == 2 && (p[1].revents & POLLIN)) serve_requests(cfg, runner, service);
        if (ready > 0 && (p[0].revents & POLLIN)) {
            std::vector<std::string> fresh;
            bool flush = false;
            read_events(ino.get(), fresh, flush);
            for (auto& id : fresh)
                if (queue::owner_of(id, n) == k) due[id] = 0;
            if (flush) next_scan = 0, force = true;
        }
    }
    return 0;
}

// Start one delivery process for a batch (0: it could not start).
pid_t start_delivery(const Config& cfg, const queue::Spool& spool, const queue::Batch& b) {
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(0);
        queue::Signer signer(cfg);
        queue::deliver_remote(cfg, spool, b.destination, b.jobs, signer);
        _exit(0);
    }
    return child > 0 ? child : 0;
}

// The outbound side: a delivery process per batch that the scheduler
// (queue/schedule.hpp) hands out. `once`: one pass, waiting for the
// deliveries to end.
int outbound(const Config& cfg, const queue::Spool& spool, bool once) {
    Fd ino = watch_queue(spool);
    if (!ino) return mail::exit_status(mail::Errc::tempfail);
    queue::Outbound sched(cfg, once ? SIZE_MAX : 20000);
    std::optional<Directory> dir;
    int64_t next_scan = 0;
    // After a flush, every entry whose state was not written since is due
    // in full, over as many scans as the scheduler's limit takes.
    int64_t flush_ns = once ? now_ns() : 0;
    int passes = 0; // `once`: schedule in the first pass only
    while (!stopping) {
        int64_t now = mail::now();
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            bool crashed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            auto destination = sched.ended(pid, crashed, now);
            if (destination && crashed)
                log::warn("queue.remote", "delivery to {} ended abnormally (status {})", *destination, status);
        }
        if (now >= next_scan) {
            bool left = false; // entries left for a later scan (the limit)
            Status s = spool.each([&](const queue::Scanned& e) {
                bool forced = flush_ns && e.changed_ns < flush_ns;
                if (!forced && !queue::due_by_scan(cfg, e, now)) return;
                if (sched.full()) left = true;
                else sched.arrived(std::string(e.id), forced);
            });
            if (!s) log::error("queue.scan", s.error());
            if (!left) flush_ns = 0;
            next_scan = now + (left ? 5 : rescan_interval);
            dir.reset(); // see directory changes
        }
        if (!dir) {
            auto d = Directory::open(cfg.directory_path(), Db::Access::read_only);
            if (!d) log::error("queue.directory", d.error());
            else dir.emplace(std::move(*d));
        }
        if (dir && !(once && passes > 0))
            sched.plan([&](const std::string& id,
                           bool force) { return queue::due_remote(cfg, spool, *dir, id, now, force); },
                       now, next_scan);
        passes++;
        while (!stopping) {
            auto batch = sched.next_batch();
            if (!batch) break;
            pid_t child = start_delivery(cfg, spool, *batch);
            if (!child) { // try again at the next turn
                sched.not_started(*batch);
                break;
            }
            sched.started(child, *batch);
        }
        if (once && sched.idle()) break;
        int64_t wait_s = std::clamp<int64_t>(sched.wake(next_scan) - mail::now(), 0, 60);
        bool delivering = !sched.children().empty();
        int wait_ms = delivering ? std::min<int>(wait_s * 1000, 200) : static_cast<int>(wait_s * 1000);
        pollfd p{ino.get(), POLLIN, 0};
        if (poll(&p, 1, wait_ms) > 0) {
            std::vector<std::string> fresh;
            bool flush = false;
            read_events(ino.get(), fresh, flush);
            for (auto& id : fresh) sched.arrived(id);
            if (flush) next_scan = 0, flush_ns = now_ns();
        }
    }
    for (pid_t p : sched.children()) kill(p, SIGTERM);
    for (pid_t p : sched.children()) waitpid(p, nullptr, 0);
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
    // mail-deliver's requests (deliver/request.hpp), taken by the local workers.
    Fd service;
    if (!once) {
        auto s = queue::listen_service(cfg);
        if (!s) log::error("queue.service", s.error()); // mail-deliver then delivers itself
        else service = std::move(*s);
    }
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
    queue::Workers workers(n + 1, lock.get(), [&](unsigned k) {
        return k == n ? outbound(cfg, spool, false) : work(cfg, spool, false, k, n, nullptr, service.get());
    });
    int rc = work(cfg, spool, false, 0, n, &workers, service.get());
    ::unlink(mail::service::socket_path(cfg).c_str());
    log::info("queue.stop", "stopped");
    return rc;
}
