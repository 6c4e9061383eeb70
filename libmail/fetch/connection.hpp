// A client connection to an outside IMAP or POP3 server: TCP with time
// limits, TLS from the first byte or after STARTTLS/STLS, the certificate
// checked against the system's CAs (or the account's CA file) and the host
// name unless the account says otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/files.hpp"
#include "net/stream.hpp"

namespace mail::fetch {

struct Endpoint {
    std::string host;
    int port = 0;
    std::string tls = "implicit"; // implicit, starttls, none
    bool verify = true;
    std::string ca_file;
    int timeout = 60; // seconds, for the connect and each read or write
    // The budget of one command's response (restarted by each send()):
    // its whole time, and the bytes of its lines and small literals
    // (message bodies are bounded by the message size limit instead).
    int command_time = 600;
    uint64_t command_bytes = 64 << 20;
};

class Connection {
  public:
    static Result<std::unique_ptr<Connection>> open(const Endpoint& ep);
    ~Connection();

    // One line without CRLF; an error when the connection is lost, times
    // out, the line is longer than `max` or (`counted`) the command's
    // budget is spent.
    Result<std::string> line(size_t max, bool counted = true);
    // Exactly `n` bytes, in pieces, to `each`.
    Status bytes(size_t n, const std::function<Status(std::string_view)>& each, bool counted = true);
    // Written and flushed; the response to it gets a new budget.
    Status send(std::string_view data);
    // A new time budget now (a message body begins; IDLE waits `seconds`).
    void restart_budget(int seconds = 0);
    // The handshake after the server accepted STARTTLS or STLS. Anything
    // the server sent after its answer is an injection attempt: abort.
    Status start_tls(const Endpoint& ep);
    bool tls() const { return io_.tls(); }
    std::string tls_version() const { return io_.tls_version(); }
    net::Stream& stream() { return io_; }
    const std::string& peer() const { return peer_; }

  private:
    Connection(Fd fd, std::string peer, const Endpoint& ep);
    Status spend(size_t n); // of the byte budget
    Error lost() const;
    Fd fd_;
    net::Stream io_;
    std::string peer_;
    std::optional<net::TlsContext> ctx_;
    int timeout_, command_time_;
    uint64_t command_bytes_, bytes_left_;
};

} // namespace mail::fetch
