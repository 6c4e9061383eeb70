#include "connection.hpp"

#include <fmt/format.h>

#include "net/connect.hpp"

namespace mail::fetch {

Connection::Connection(Fd fd, std::string peer, const Endpoint& ep)
    : fd_(std::move(fd)), io_(fd_.get(), fd_.get()), peer_(std::move(peer)), timeout_(ep.timeout),
      command_time_(ep.command_time), command_bytes_(ep.command_bytes), bytes_left_(ep.command_bytes) {}

Error Connection::lost() const {
    if (io_.timed_out())
        return make_error(Errc::tempfail,
                          fmt::format("{} did not finish its answer to one command within {} s", peer_, command_time_));
    return make_error(Errc::tempfail, "connection to " + peer_ + " lost or timed out");
}

Status Connection::spend(size_t n) {
    if (n > bytes_left_) {
        bytes_left_ = 0;
        return make_error(Errc::unavailable,
                          fmt::format("{} sent over {} bytes in answer to one command", peer_, command_bytes_));
    }
    bytes_left_ -= n;
    return {};
}

void Connection::restart_budget(int seconds) {
    io_.set_read_deadline(static_cast<int64_t>(seconds > 0 ? seconds : command_time_) * 1000, timeout_ * 1000);
}

Connection::~Connection() = default;

Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& ep) {
    auto fd = net::connect_host(ep.host, ep.port, ep.timeout);
    if (!fd) return fd.error();
    net::set_socket_timeout(fd->get(), ep.timeout);
    std::unique_ptr<Connection> c(new Connection(std::move(*fd), fmt::format("{}:{}", ep.host, ep.port), ep));
    c->restart_budget(); // for the greeting
    if (ep.tls == "implicit") MAIL_TRY(c->start_tls(ep));
    return c;
}

Status Connection::start_tls(const Endpoint& ep) {
    if (io_.input_pending())
        return make_error(Errc::unavailable,
                          peer_ + " sent data before the TLS handshake (a STARTTLS injection?)");
    if (!ctx_) {
        auto ctx = net::TlsContext::client(ep.verify, ep.ca_file);
        if (!ctx) return ctx.error();
        ctx_ = std::move(*ctx);
    }
    Status st = io_.start_tls_client(*ctx_, ep.host);
    if (!st) return make_error(Errc::unavailable, peer_ + ": " + st.error().user, st.error().detail);
    return {};
}

Result<std::string> Connection::line(size_t max, bool counted) {
    std::string l;
    switch (io_.read_line(l, max)) {
    case net::Stream::Line::ok:
        if (counted) MAIL_TRY(spend(l.size() + 2));
        return l;
    case net::Stream::Line::eof: return lost();
    case net::Stream::Line::too_long: break;
    }
    return make_error(Errc::unavailable, fmt::format("{} sent a line over {} bytes", peer_, max));
}

Status Connection::bytes(size_t n, const std::function<Status(std::string_view)>& each, bool counted) {
    if (counted) MAIL_TRY(spend(n));
    while (n > 0) {
        if (io_.buffered().empty() && !io_.fill()) return lost();
        std::string_view b = io_.buffered();
        size_t take = std::min(n, b.size());
        MAIL_TRY(each(b.substr(0, take)));
        io_.consume(take);
        n -= take;
    }
    return {};
}

Status Connection::send(std::string_view data) {
    io_.write(data);
    if (!io_.flush()) return lost();
    bytes_left_ = command_bytes_;
    restart_budget();
    return {};
}

} // namespace mail::fetch
