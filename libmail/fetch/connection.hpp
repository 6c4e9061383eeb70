// A client connection to an outside IMAP or POP3 server: TCP with time
// limits, TLS from the first byte or after STARTTLS/STLS, the certificate
// checked against the system's CAs (or the account's CA file) and the host
// name unless the account says otherwise.
#pragma once

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
};

class Connection {
  public:
    static Result<std::unique_ptr<Connection>> open(const Endpoint& ep);
    ~Connection();

    // One line without CRLF; an error when the connection is lost, times
    // out or the line is longer than `max`.
    Result<std::string> line(size_t max);
    // Exactly `n` bytes, in pieces, to `each`.
    Status bytes(size_t n, const std::function<Status(std::string_view)>& each);
    Status send(std::string_view data); // written and flushed
    // The handshake after the server accepted STARTTLS or STLS. Anything
    // the server sent after its answer is an injection attempt: abort.
    Status start_tls(const Endpoint& ep);
    bool tls() const { return io_.tls(); }
    std::string tls_version() const { return io_.tls_version(); }
    net::Stream& stream() { return io_; }
    const std::string& peer() const { return peer_; }

  private:
    Connection(Fd fd, std::string peer);
    Fd fd_;
    net::Stream io_;
    std::string peer_;
    std::optional<net::TlsContext> ctx_;
};

} // namespace mail::fetch
