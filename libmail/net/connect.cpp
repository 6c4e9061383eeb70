#include "connect.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace mail::net {

namespace {

Result<Fd> connect_sockaddr(const sockaddr* sa, socklen_t len, const std::string& shown, int port,
                            int timeout) {
    Fd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return make_error(Errc::tempfail, "cannot create a socket", strerror(errno));
    int r = ::connect(fd.get(), sa, len);
    if (r != 0 && errno == EINPROGRESS) {
        pollfd p{fd.get(), POLLOUT, 0};
        r = ::poll(&p, 1, timeout * 1000);
        int err = r == 0 ? ETIMEDOUT : 0;
        socklen_t el = sizeof err;
        if (r > 0) getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
        errno = err;
        r = err ? -1 : 0;
    }
    if (r != 0)
        return make_error(Errc::tempfail, fmt::format("connection to [{}]:{} failed: {}", shown,
                                                      port, strerror(errno)));
    fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

} // namespace

Result<Fd> connect_address(const std::string& address, int port, int timeout) {
    sockaddr_storage ss{};
    socklen_t len;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET, v4->sin_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6, v6->sin6_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v6;
    } else {
        return make_error(Errc::software, "not a numeric address: " + address);
    }
    return connect_sockaddr(reinterpret_cast<sockaddr*>(&ss), len, address, port, timeout);
}

Result<Fd> connect_host(const std::string& host, int port, int timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    int r = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (r != 0 || !res) {
        // A name that does not exist may come back; the account is retried.
        return make_error(Errc::tempfail, fmt::format("cannot resolve {}: {}", host,
                                                      r ? gai_strerror(r) : "no address"));
    }
    Error last = make_error(Errc::tempfail, "no address for " + host);
    for (addrinfo* a = res; a; a = a->ai_next) {
        char shown[INET6_ADDRSTRLEN] = "?";
        const void* in = a->ai_family == AF_INET
                             ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                             : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        inet_ntop(a->ai_family, in, shown, sizeof shown);
        auto fd = connect_sockaddr(a->ai_addr, a->ai_addrlen, shown, port, timeout);
        if (fd) {
            freeaddrinfo(res);
            return fd;
        }
        last = fd.error();
    }
    freeaddrinfo(res);
    return last;
}

void set_socket_timeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

} // namespace mail::net
