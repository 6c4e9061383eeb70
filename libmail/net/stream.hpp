// A connection's byte stream: two descriptors (stdin/stdout under inetd,
// or one socket twice), buffered reading with bounded lines, buffered
// writing, and TLS on top when STARTTLS or implicit TLS asks for it.
// Time limits are per-process alarms (one process per connection): when a
// client stalls, the process logs and exits; nothing is half-acknowledged.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/config.hpp"
#include "base/result.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace mail::net {

class TlsContext {
  public:
    // A server context: TLS 1.2 and later, the certificate chain and key
    // from PEM files.
    static Result<TlsContext> server(const std::string& cert, const std::string& key);
    // A client context (outbound SMTP): TLS 1.2 and later; with `verify`,
    // the peer's chain must lead to `ca_file` (empty: the system's CAs)
    // and name the host connected to. Without, TLS is opportunistic.
    static Result<TlsContext> client(bool verify, const std::string& ca_file);
    SSL_CTX* get() const { return ctx_.get(); }

  private:
    struct Free {
        void operator()(SSL_CTX* c) const;
    };
    std::unique_ptr<SSL_CTX, Free> ctx_;
};

// What a server offers: TLS on request (STARTTLS, STLS) or from the first
// byte, with the certificate and key of the configuration.
struct TlsOptions {
    bool offer = false;
    bool implicit = false;
    std::string cert, key;
};

// Options for --tls starttls|implicit|none. The certificate and key are
// tried in a child process, so that a listener (whose connection processes
// inherit its memory) stays free of OpenSSL's state; the reason for a
// failure is logged, and the error is Errc::config.
Result<TlsOptions> tls_options(const Config& cfg, std::string_view mode);

class Stream;

// A server context loaded on first use, so that connections that never ask
// for TLS never map OpenSSL's state (a smaller process per connection).
class LazyTls {
  public:
    explicit LazyTls(const TlsOptions& o) : cert_(o.cert), key_(o.key) {}
    Status load();
    // load(), then the server handshake on `io`.
    Status start(Stream& io);
    const TlsContext& context() const { return *ctx_; }

  private:
    std::string cert_, key_;
    std::optional<TlsContext> ctx_;
};

// Arm (seconds > 0) or disarm the alarm that ends a stalled session.
void set_deadline(unsigned seconds);
// No deadline, and none hit: a process that serves another connection.
void clear_deadline();
// What a stalled session logs before it exits, and says to its peer
// (set once at start).
void on_deadline_exit(const char* log_line, const char* goodbye);

class Stream {
  public:
    Stream(int in, int out);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    enum class Line { ok, eof, too_long };
    // One line without its CRLF (or bare LF). A line longer than `max` is
    // skipped up to its end and reported as too_long (`line` then empty:
    // never more than `max` bytes are kept).
    Line read_line(std::string& line, size_t max);
    // Bytes read from the peer but not yet consumed.
    std::string_view buffered() const { return std::string_view(in_buf_).substr(pos_); }
    void consume(size_t n) { pos_ += n; }
    // Read more bytes into the buffer; false at end of stream or error.
    bool fill();
    void discard_input() { in_buf_.clear(), pos_ = 0; }
    // Whether bytes are waiting (in the buffer or on the descriptor)
    // without blocking: a client that talks out of turn.
    bool input_pending() { return wait_input(0); }
    // Wait up to `ms` milliseconds (-1: forever) for bytes to read.
    bool wait_input(int ms);
    int input_fd() const { return in_; } // for a poll() that waits on more than the client

    void write(std::string_view s) { out_buf_.append(s); }
    bool flush();
    // The end of the conversation: what is owed is flushed, TLS says
    // close_notify, and the peer sees the end of the stream at once, not
    // when this process has finished exiting.
    void finish();

    // A client's budget for a whole response: reads after `ms` from now
    // fail as at the end of the stream, and timed_out() says so; each
    // blocking read on the socket waits at most the rest of the budget and
    // at most `step_ms`. 0 disarms it.
    void set_read_deadline(int64_t ms, int step_ms);
    bool timed_out() const { return timed_out_; }

    // Handshake as the server. Buffered plaintext is discarded first: a
    // command sent before the handshake must never run inside TLS.
    Status start_tls(const TlsContext& ctx);
    // Handshake as the client, naming `host` (SNI and, when the context
    // verifies, the name checked in the certificate).
    Status start_tls_client(const TlsContext& ctx, const std::string& host);
    bool tls() const { return ssl_ != nullptr; }
    std::string tls_version() const;
    std::string tls_cipher() const;

    // COMPRESS=DEFLATE (RFC 4978): from now on both directions are raw
    // deflate streams (inside TLS, when there is TLS), each flush() a sync
    // flush. Bytes already buffered were sent compressed: they are inflated.
    Status start_deflate();
    bool deflating() const { return zout_ != nullptr; }

  private:
    struct Deflate; // zlib's streams, apart from this header
    long raw_read(char* buf, size_t n);
    long plain_read(char* buf, size_t n);  // below the compression
    bool plain_write(std::string_view d);   // below the compression
    int in_, out_;
    bool before_read(); // false: the read deadline has passed
    [[noreturn]] void deadline_goodbye_and_exit();
    SSL* ssl_ = nullptr;
    bool finished_ = false;
    std::string in_buf_, out_buf_;
    size_t pos_ = 0;
    std::unique_ptr<Deflate> zout_;
    int64_t deadline_ms_ = 0; // CLOCK_MONOTONIC; 0: none
    int step_ms_ = 0;
    bool timed_out_ = false;
};

} // namespace mail::net
