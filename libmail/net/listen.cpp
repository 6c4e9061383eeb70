#include "listen.hpp"

#include "base/owner.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/files.hpp"
#include "base/log.hpp"

namespace mail::net {

namespace {

// Our streams buffer whole replies themselves; Nagle's algorithm would
// hold back the last small write of a response until the peer's delayed ACK.
void no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // fails harmlessly on a pipe
}


std::string ip_text(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof buf);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf, sizeof buf);
    std::string s = buf;
    if (s.starts_with("::ffff:") && s.find('.') != std::string::npos) s.erase(0, 7);
    return s;
}

bool is_loopback(const std::string& ip) { return ip.starts_with("127.") || ip == "::1"; }

bool is_listening(int fd) {
    int v = 0;
    socklen_t len = sizeof v;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

Result<int> bind_one(const std::string& spec) {
    size_t colon = spec.rfind(':');
    if (colon == std::string::npos) return make_error(Errc::usage, "listen: want ADDR:PORT: " + spec);
    std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0)
        return make_error(Errc::usage, "listen: bad address " + spec);
    Fd fd(socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = fd && bind(fd.get(), res->ai_addr, res->ai_addrlen) == 0 && listen(fd.get(), 128) == 0;
    freeaddrinfo(res);
    if (!ok) return sys_error("listen on", spec);
    return fd.release();
}

// fds 3.. passed by systemd; LISTEN_PID must name us.
std::vector<int> inherited_fds() {
    const char* pid = std::getenv("LISTEN_PID");
    const char* n = std::getenv("LISTEN_FDS");
    if (!pid || !n || std::atol(pid) != getpid()) return {};
    std::vector<int> fds;
    for (int i = 0; i < std::atoi(n); i++) fds.push_back(3 + i);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return fds;
}

// Connections are handed to connection processes over a socketpair, with
// the client's address: a process serves up to max_use of them, one after
// another, then exits; one idle for idle_exit seconds is let go. The
// listener knows what each process is doing, so the caps hold exactly.
constexpr int idle_exit = 60;

Status send_connection(int ctl, int conn, const Peer& peer) {
    return send_with_fd(ctl, (peer.loopback ? "L" : "R") + peer.ip, conn);
}

// The next connection (-1: the listener let this process go) and its
// client.
int receive_connection(int ctl, Peer& peer) {
    char buf[INET6_ADDRSTRLEN + 2] = {};
    Fd conn;
    if (receive_with_fd(ctl, buf, sizeof buf - 1, conn) <= 0) return -1;
    peer.loopback = buf[0] == 'L';
    peer.ip = buf + 1;
    return conn.release();
}

struct Worker {
    pid_t pid;
    Fd ctl;        // the listener's end
    bool busy = false;
    std::string ip; // of the connection it serves
    time_t idle_since = 0;
};

class Pool {
  public:
    Pool(const ServeOptions& o, const Handler& h, const std::vector<int>& listeners)
        : opt_(o), handler_(h), listeners_(listeners) {}

    bool full(const std::string& ip) const {
        int busy = 0, from_ip = 0;
        for (auto& w : workers_)
            if (w.busy) busy++, from_ip += w.ip == ip;
        return busy >= opt_.max_children || from_ip >= opt_.max_per_ip;
    }

    // Give `conn` to an idle process, or to a new one.
    void hand(int conn, const Peer& peer) {
        for (auto& w : workers_) {
            if (w.busy) continue;
            if (send_connection(w.ctl.get(), conn, peer)) return take(w, peer);
            w.ctl = Fd(); // gone meanwhile: forgotten below
        }
        std::erase_if(workers_, [](const Worker& w) { return !w.ctl; });
        Worker* w = spawn();
        if (!w) return;
        if (Status st = send_connection(w->ctl.get(), conn, peer); !st) return log::error("listen.pass", st.error());
        take(*w, peer);
    }

    // What the processes said: 'i', idle again; end of file, gone.
    void events(const std::vector<pollfd>& pfds, size_t first) {
        for (size_t i = first; i < pfds.size(); i++) {
            if (!pfds[i].revents) continue;
            Worker& w = workers_[i - first];
            char c;
            ssize_t n = ::read(w.ctl.get(), &c, 1);
            if (n == 1) {
                w.busy = false;
                w.ip.clear();
                w.idle_since = time(nullptr);
            } else if (n == 0 || errno != EINTR) {
                w.ctl = Fd();
            }
        }
        time_t now = time(nullptr);
        for (auto& w : workers_)
            if (!w.busy && now - w.idle_since >= idle_exit) w.ctl = Fd(); // it exits
        std::erase_if(workers_, [](const Worker& w) { return !w.ctl; });
    }

    void poll_set(std::vector<pollfd>& pfds) const {
        for (auto& w : workers_) pfds.push_back({w.ctl.get(), POLLIN, 0});
    }

  private:
    void take(Worker& w, const Peer& peer) {
        w.busy = true;
        w.ip = peer.ip;
    }

    Worker* spawn() {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
            log::err("listen.fork", "socketpair: {}", std::strerror(errno));
            return nullptr;
        }
        pid_t pid = fork();
        if (pid == 0) {
            ::close(sv[0]);
            for (int fd : listeners_) ::close(fd);
            for (auto& w : workers_) ::close(w.ctl.get());
            signal(SIGCHLD, SIG_DFL);
            serve_connections(sv[1]);
        }
        ::close(sv[1]);
        if (pid < 0) {
            log::err("listen.fork", "fork: {}", std::strerror(errno));
            ::close(sv[0]);
            return nullptr;
        }
        return &workers_.emplace_back(Worker{pid, Fd(sv[0]), false, {}, 0});
    }

    // The connection process: connections one after another; after the
    // last one it exits without asking for more.
    [[noreturn]] void serve_connections(int ctl) {
        for (int served = 0; served < opt_.max_use;) {
            pollfd p{ctl, POLLIN, 0};
            if (opt_.idle_work && poll(&p, 1, 100) == 0) opt_.idle_work();
            Peer peer;
            int conn = receive_connection(ctl, peer);
            if (conn < 0) break;
            handler_(conn, conn, peer);
            ::close(conn);
            clear_deadline();
            if (++served < opt_.max_use && ::write(ctl, "i", 1) != 1) break;
        }
        if (opt_.idle_work) opt_.idle_work();
        _exit(0);
    }

    const ServeOptions& opt_;
    const Handler& handler_;
    const std::vector<int>& listeners_;
    std::vector<Worker> workers_;
};

void noop_handler(int) {}

// The one connection of an inetd-style process, then its work left for later.
int serve_one(const ServeOptions& opt, const Handler& handler, int in, int out) {
    int rc = handler(in, out, peer_of(in));
    if (opt.idle_work) opt.idle_work();
    return rc;
}

int accept_loop(const std::vector<int>& listeners, const ServeOptions& opt, const Handler& handler) {
    struct sigaction sa {};
    sa.sa_handler = noop_handler; // SIGCHLD interrupts poll so that we reap
    sigaction(SIGCHLD, &sa, nullptr);
    Pool pool(opt, handler, listeners);
    std::vector<pollfd> pfds;
    for (;;) {
        while (waitpid(-1, nullptr, WNOHANG) > 0) {}
        pfds.clear();
        for (int fd : listeners) pfds.push_back({fd, POLLIN, 0});
        pool.poll_set(pfds);
        int n = poll(pfds.data(), pfds.size(), 1000);
        pool.events(pfds, listeners.size());
        if (n <= 0) continue;
        for (size_t i = 0; i < listeners.size(); i++) {
            if (!(pfds[i].revents & POLLIN)) continue;
            int c = accept4(pfds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            Fd conn(c);
            no_delay(c);
            Peer peer = peer_of(c);
            if (pool.full(peer.ip)) {
                log::warn("listen.busy", "refused {}: too many connections", peer.ip);
                (void)!::write(c, opt.busy_reply.data(), opt.busy_reply.size());
                continue;
            }
            pool.hand(c, peer);
        }
    }
}

} // namespace

Peer peer_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    Peer p;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        p.ip = ip_text(ss);
    } else if (const char* ucspi = std::getenv("TCPREMOTEIP")) {
        p.ip = ucspi;
    } else {
        p.loopback = true; // a pipe: a local process started us
        return p;
    }
    p.loopback = is_loopback(p.ip);
    return p;
}

ServeOptions serve_options(const Config& cfg, const std::vector<std::string>& listen,
                           std::string busy_reply, Service service) {
    ServeOptions o;
    o.listen = listen;
    bool imap = service == Service::imapd;
    o.max_children = imap ? cfg.imapd.max_children : cfg.smtpd.max_children;
    o.max_per_ip = imap ? cfg.imapd.max_per_ip : cfg.smtpd.max_per_ip;
    // IMAP and POP3 sessions confine their process to one mailbox.
    o.max_use = service == Service::smtpd ? cfg.smtpd.max_use : 1;
    o.busy_reply = std::move(busy_reply);
    return o;
}

int serve(const ServeOptions& opt, const Handler& handler) {
    signal(SIGPIPE, SIG_IGN);
    std::vector<int> listeners;
    for (auto& spec : opt.listen) {
        auto fd = bind_one(spec);
        if (!fd) {
            log::error("listen", fd.error());
            return exit_status(fd.error());
        }
        listeners.push_back(*fd);
    }
    if (opt.after_bind)
        if (Status st = opt.after_bind(); !st) {
            log::error("owner", st.error());
            return exit_status(st.error());
        }
    if (listeners.empty()) {
        std::vector<int> fds = inherited_fds();
        if (fds.size() == 1 && !is_listening(fds[0])) {
            no_delay(fds[0]);
            return serve_one(opt, handler, fds[0], fds[0]);
        }
        listeners = fds;
    }
    if (listeners.empty()) {
        no_delay(STDOUT_FILENO);
        return serve_one(opt, handler, STDIN_FILENO, STDOUT_FILENO);
    }
    return accept_loop(listeners, opt, handler);
}

int run_server(const std::optional<std::string>& config, const std::string& tls_mode,
               const std::vector<std::string>& listen, std::string busy_reply, const SessionMain& session,
               Service service, std::function<void()> idle_work) {
    auto cfg = load_config(config);
    if (!cfg) {
        log::error("config", cfg.error());
        return exit_status(Errc::config);
    }
    auto tls = tls_options(*cfg, tls_mode);
    if (!tls) return exit_status(tls.error());
    auto opt = serve_options(*cfg, listen, std::move(busy_reply), service);
    opt.idle_work = std::move(idle_work);
    opt.after_bind = [&] {
        return service == Service::smtpd && !cfg->smtpd.user.empty() ? become_user(cfg->smtpd.user)
                                                                      : become_store_owner(*cfg);
    };
    return serve(opt, [&](int in, int out, const Peer& peer) { return session(*cfg, *tls, in, out, peer); });
}

} // namespace mail::net
