#include "listen.hpp"

#include "base/owner.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <map>
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

class Children {
  public:
    void reap() {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            auto it = ip_.find(pid);
            if (it == ip_.end()) continue;
            if (--per_ip_[it->second] == 0) per_ip_.erase(it->second);
            ip_.erase(it);
        }
    }
    bool full(const ServeOptions& o, const std::string& ip) {
        auto it = per_ip_.find(ip);
        return static_cast<int>(ip_.size()) >= o.max_children ||
               (it != per_ip_.end() && it->second >= o.max_per_ip);
    }
    void add(pid_t pid, const std::string& ip) {
        ip_[pid] = ip;
        per_ip_[ip]++;
    }

  private:
    std::map<pid_t, std::string> ip_;
    std::map<std::string, int> per_ip_;
};

void noop_handler(int) {}

int accept_loop(const std::vector<int>& listeners, const ServeOptions& opt, const Handler& handler) {
    struct sigaction sa {};
    sa.sa_handler = noop_handler; // SIGCHLD interrupts poll so that we reap
    sigaction(SIGCHLD, &sa, nullptr);
    std::vector<pollfd> pfds;
    for (int fd : listeners) pfds.push_back({fd, POLLIN, 0});
    Children children;
    for (;;) {
        children.reap();
        if (poll(pfds.data(), pfds.size(), 1000) <= 0) continue;
        for (auto& p : pfds) {
            if (!(p.revents & POLLIN)) continue;
            int c = accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            Fd conn(c);
            no_delay(c);
            Peer peer = peer_of(c);
            if (children.full(opt, peer.ip)) {
                log::warn("listen.busy", "refused {}: too many connections", peer.ip);
                (void)!::write(c, opt.busy_reply.data(), opt.busy_reply.size());
                continue;
            }
            pid_t pid = fork();
            if (pid == 0) {
                for (int fd : listeners) ::close(fd);
                signal(SIGCHLD, SIG_DFL);
                _exit(handler(c, c, peer));
            }
            if (pid < 0) log::err("listen.fork", "fork: {}", std::strerror(errno));
            else children.add(pid, peer.ip);
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
            return handler(fds[0], fds[0], peer_of(fds[0]));
        }
        listeners = fds;
    }
    if (listeners.empty()) {
        no_delay(STDOUT_FILENO);
        return handler(STDIN_FILENO, STDOUT_FILENO, peer_of(STDIN_FILENO));
    }
    return accept_loop(listeners, opt, handler);
}

int run_server(const std::optional<std::string>& config, const std::string& tls_mode,
               const std::vector<std::string>& listen, std::string busy_reply, const SessionMain& session,
               Service service) {
    auto cfg = load_config(config);
    if (!cfg) {
        log::error("config", cfg.error());
        return exit_status(Errc::config);
    }
    auto tls = tls_options(*cfg, tls_mode);
    if (!tls) return exit_status(tls.error());
    auto opt = serve_options(*cfg, listen, std::move(busy_reply), service);
    opt.after_bind = [&] {
        return service == Service::smtpd && !cfg->smtpd.user.empty() ? become_user(cfg->smtpd.user)
                                                                      : become_store_owner(*cfg);
    };
    return serve(opt, [&](int in, int out, const Peer& peer) { return session(*cfg, *tls, in, out, peer); });
}

} // namespace mail::net
