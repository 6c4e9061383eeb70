// One SMTP session (RFC 5321) from greeting to QUIT, in either role:
//   mx          mail from the world for our domains; no relaying
//   submission  mail from our authenticated users to anywhere
// Commands are a table of handlers (session.cpp); the mail transaction
// (MAIL, RCPT, DATA, BDAT) lives in transaction.cpp, who may send and
// receive what in policy.cpp. A message is answered 250 only once it is
// safe: its local recipients delivered at once (when the session may write
// the store, see SessionOptions::local), and the rest committed to the
// queue (spool.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/sasl.hpp"
#include "base/config.hpp"
#include "base/encoding.hpp"
#include "deliver/deliver.hpp"
#include "directory/directory.hpp"
#include "message/signature.hpp"
#include "net/dns.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"
#include "spool/envelope.hpp"
#include "spool/spool.hpp"
#include "smtp/command.hpp"
#include "smtpd/ratelimit.hpp"
#include "smtpd/writer.hpp"
#include "verify/checks.hpp"

namespace mail::smtp {

enum class Role { mx, submission };

// The resolver of the checks of inbound mail and the DNS blocklists, one
// per process; `next`: a new transaction (see transaction.cpp).
net::Resolver* checks_resolver(const Config& cfg, bool next);

constexpr size_t max_command_line = 4096; // RFC 5321 says 512; we accept 4 KiB

struct SessionOptions {
    Role role = Role::mx;
    net::TlsOptions tls;
    // Delivers the local recipients of a message before its 250, so that
    // only the others (remote, failed, or a message too big to hold in
    // memory) are queued. Null: everything is queued (mail-smtpd under a
    // user of its own, or smtpd.deliver_local off).
    LocalDelivery* local = nullptr;
};

class Session {
  public:
    Session(const Config& cfg, Directory& dir, const queue::Spool& spool, net::Stream& io,
            const net::Peer& peer, const SessionOptions& opt);
    ~Session();
    int run(); // exit status for the connection's process

  private:
    struct Handler {
        const char* verb;
        void (Session::*fn)(const std::string& arg);
    };
    static const Handler handlers[];

    // session.cpp
    bool greet();
    bool dispatch(const std::string& line);
    void reply(int code, std::string_view dsn, std::string_view text);
    void bad(int code, std::string_view dsn, std::string_view text); // counts errors
    bool secure() const; // TLS, or loopback when allowed
    Status start_tls();
    bool auth_offered() const;
    void reset_transaction();
    void cmd_helo(const std::string& arg);
    void cmd_ehlo(const std::string& arg);
    void cmd_noop(const std::string& arg);
    void cmd_rset(const std::string& arg);
    void cmd_quit(const std::string& arg);
    void cmd_vrfy(const std::string& arg);
    void cmd_expn(const std::string& arg);
    void cmd_help(const std::string& arg);
    void cmd_starttls(const std::string& arg);
    void cmd_auth(const std::string& arg);
    std::optional<std::string> auth_response(); // one SASL line, nullopt on "*"
    void auth_finish(const std::string& user, const std::string& password,
                     const std::string& authzid);

    // transaction.cpp
    void cmd_mail(const std::string& arg);
    void cmd_rcpt(const std::string& arg);
    void cmd_data(const std::string& arg);
    void cmd_bdat(const std::string& arg);
    bool mail_params(const std::vector<Param>& params);
    bool rcpt_params(const std::vector<Param>& params, queue::Recipient& r);
    void open_message(); // the writer; its queue file is made when needed
    void refuse(int code, std::string dsn, std::string text);
    void take(std::string_view text);
    void start_body();
    void end_message(uint64_t size);
    bool deliver_now(std::string_view text, const std::string& rcpts, uint64_t size);
    void queue_message(std::string_view text, const std::string& rcpts, uint64_t size, int delivered);
    void log_message(const std::string& rcpts, uint64_t size, std::string_view result);
    std::string received_header() const;
    bool free_space_ok();

    const Config& cfg_;
    Directory& dir_;
    const queue::Spool& spool_;
    net::Stream& io_;
    net::Peer peer_;
    SessionOptions opt_;
    LoginPenalty penalty_;
    net::LazyTls tls_ctx_;

    // greeting: before HELO/EHLO (and again after STARTTLS); ready: a
    // session without a transaction; mail: MAIL accepted, recipients and
    // the message may follow; quit: the connection ends.
    enum class State { greeting, ready, mail, quit };
    State state_ = State::greeting;
    std::string helo_;
    bool esmtp_ = false; // greeted with EHLO
    int errors_ = 0;
    std::optional<std::string> user_; // authenticated mailbox

    // the mail transaction
    queue::Envelope env_;
    std::unique_ptr<MessageWriter> writer_;
    struct Refusal {
        int code;
        std::string dsn, text;
    };
    std::optional<Refusal> refused_; // the reply at the end of the message
    Signature signature_;            // submission: added at commit
    // The checks of inbound mail (MX role, not authenticated): made at the
    // end of the message; the resolver opened for the first.
    bool checks() const;
    std::string check(std::string message);
    std::optional<verify::Checks> checked_;
    void record_evaluation(std::string_view message);
    void prefetch();
    // DNS blocklists (dnsbl.cpp; MX role, not authenticated): asked once
    // per session, at the first RCPT; the reply for a listed client, and
    // the header line of score-only lists.
    struct Dnsbl {
        std::optional<std::string> refusal;
        std::string header;
    };
    std::optional<Dnsbl> dnsbl_;
    bool dnsbl_applies() const;
    const Dnsbl& dnsbl();
    // Greylisting (greylist.cpp; MX role, not authenticated): the seconds
    // to wait before `rcpt` from this client and sender passes, 0 when it
    // may pass now. Whether the transaction skips it is decided once.
    bool greylist_applies() const;
    int64_t greylisted(const std::string& rcpt);
    std::optional<bool> grey_skip_;
    // Rate limits (ratelimit.cpp): true when one of `keys` is over its
    // limit in the window (nothing counted then); false when counted, or
    // when the limits are off or their state cannot be written (logged).
    bool rate_limited(const std::vector<RateKey>& keys, int64_t window);
    bool too_many_failed_rcpts();
    void count_failed_rcpt();
    CrlfFilter crlf_;                // BDAT
    uint64_t bdat_size_ = 0;
};

} // namespace mail::smtp
