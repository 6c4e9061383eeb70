// The SMTP client of outbound delivery (RFC 5321, and the extensions it
// uses: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, STARTTLS, AUTH). One
// Client is one connection; several messages may be sent over it. Each
// step has the time limit of RFC 5321 4.5.3.2 (a socket timeout): a
// stalled server makes the step fail like a lost connection.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "net/stream.hpp"

namespace mail::smtp {

struct Reply {
    int code = 0;     // 0: no reply (connection lost, timeout)
    std::string text; // the lines joined by spaces, without the codes
    bool ok() const { return code >= 200 && code < 400; }
    bool permanent() const { return code >= 500; }
    // Enhanced status code: the server's, or one derived from the code.
    std::string dsn() const;
    std::string str() const; // "550 5.1.1 no such user", for logs and bounces
};

struct Extensions {
    bool esmtp = false, pipelining = false, starttls = false, eightbitmime = false,
         smtputf8 = false, dsn = false, size = false, auth_plain = false, auth_login = false;
    uint64_t max_size = 0;
};

// Reads a reply line by line (RFC 5321 4.2): the same code on every line,
// "-" after it on all but the last; at most 100 lines.
class ReplyParser {
  public:
    enum class State { more, done, bad };
    State feed(std::string_view line);
    const Reply& reply() const { return reply_; } // code 0 when bad
    // The EHLO keywords of the lines after the first.
    Extensions extensions() const;

  private:
    State fail(std::string why);
    Reply reply_;
    size_t lines_ = 0;
    std::vector<std::string> keywords_;
};

// What one message needs from the transaction.
struct Outgoing {
    std::string sender;
    std::vector<std::string> recipients;
    std::vector<std::string> rcpt_params; // per recipient: " NOTIFY=... ORCPT=..." or ""
    std::string mail_params;              // " BODY=8BITMIME SMTPUTF8 RET=... ENVID=..."
    std::string_view prefix;              // header lines sent before the message (DKIM)
    std::string_view message;             // stored form: LF (or CRLF) line ends
};

// The outcome of one message: a reply per recipient (the RCPT reply when
// refused, else the reply to the end of data).
struct Sent {
    std::vector<Reply> replies;
    bool connection_usable = false; // may the next message use this connection?
};

class Client {
  public:
    // Connect to a numeric address within `timeout` seconds.
    static Result<Client> connect(const std::string& address, int port, int timeout);
    Client(Client&&) noexcept;
    ~Client();

    // TLS from the first byte (implicit TLS, port 465).
    Status handshake(const net::TlsContext& ctx, const std::string& host);
    Reply greeting();
    // EHLO, or HELO when EHLO is refused. Fills extensions().
    Reply hello(const std::string& name);
    // STARTTLS and the handshake, then EHLO again.
    Result<Reply> starttls(const net::TlsContext& ctx, const std::string& host,
                           const std::string& helo);
    Reply auth(const std::string& user, const std::string& password);
    Sent send(const Outgoing& m);
    void quit();

    const Extensions& extensions() const { return ext_; }
    bool tls() const { return io_->tls(); }
    std::string tls_version() const { return io_->tls_version(); }

  private:
    explicit Client(int fd);
    Reply command(std::string_view line, int timeout);
    Reply read_reply(int timeout, Extensions* ext = nullptr);
    bool send_data(const Outgoing& m);
    void set_timeout(int seconds);
    int fd_;
    std::unique_ptr<net::Stream> io_;
    Extensions ext_;
};

// The DATA form of a message, fed in pieces: CRLF line ends whatever the
// stored ones (a bare CR or LF becomes CRLF too), a '.' doubled at the
// start of a line, and a final CRLF. The terminating ".\r\n" is not added.
class DotStuffer {
  public:
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out);

  private:
    bool line_start_ = true, after_cr_ = false;
};

} // namespace mail::smtp
