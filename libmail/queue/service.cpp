#include "service.hpp"

#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "deliver/request.hpp"

namespace mail::queue {

Result<Fd> listen_service(const Config& cfg) {
    std::string path = service::socket_path(cfg);
    sockaddr_un sa;
    if (!service::socket_address(path, sa)) return make_error(Errc::config, "socket path too long: " + path);
    Fd s(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) return sys_error("socket", path);
    ::unlink(path.c_str()); // a runner that died left it
    mode_t old = umask(077);
    int rc = bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    umask(old);
    if (rc != 0 || listen(s.get(), 128) != 0) return sys_error("listen on", path);
    return s;
}

namespace {

// Only the store's owner (or root) may ask: the service writes mailboxes.
bool trusted(int conn) {
    ucred cred{};
    socklen_t len = sizeof cred;
    return getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && (cred.uid == geteuid() || cred.uid == 0);
}

void send_answer(int conn, const service::Answer& a) {
    std::string text = service::format_answer(a);
    (void)!::send(conn, text.data(), text.size(), MSG_NOSIGNAL);
}

} // namespace

void serve_delivery(const Config& cfg, Runner& runner, int conn) {
    timeval tv{10, 0}; // a client that connects and says nothing
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req(64 * 1024, '\0');
    Fd message;
    ssize_t n = receive_with_fd(conn, req.data(), req.size(), message);
    if (n <= 0 || !trusted(conn)) {
        log::warn("deliver.service", "request refused (not from the store's owner, or malformed)");
        return;
    }
    req.resize(static_cast<size_t>(n));
    auto r = service::parse_request(req);
    if (!r || !service::sender_arg(r->sender)) {
        log::warn("deliver.service", "malformed request refused");
        return;
    }
    // As mail-deliver reads it: one byte over the limit is enough to refuse.
    auto text = read_fd(message.get(), cfg.delivery.max_message_size, "the message");
    service::Answer a;
    if (!text) {
        log::error("deliver.service", text.error());
        return send_answer(conn, a); // 75: the caller keeps the message
    }
    text->shrink(crlf_to_lf(text->data(), text->size()));
    // Answered once the copies are durable; the index updates follow.
    runner.deliver(text->view(), r->sender, r->recipients, [&](const std::vector<RecipientStatus>& results) {
        for (auto& res : results) {
            a.lines.push_back(res.recipient + "\t" + res.dsn + " " + res.text);
            a.ok.push_back(res.ok());
        }
        a.exit_code = exit_code(results);
        send_answer(conn, a);
    });
}

} // namespace mail::queue
