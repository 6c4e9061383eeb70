// One POP3 session (RFC 1939, with RFC 2449 CAPA and response codes, RFC
// 2595 STLS, RFC 5034 SASL PLAIN). The AUTHORIZATION state ends with a
// login and the maildrop lock; DELE marks only, and QUIT in the
// TRANSACTION state is the UPDATE: a dropped connection deletes nothing.
#pragma once

#include <optional>
#include <string>

#include "auth/sasl.hpp"
#include "base/config.hpp"
#include "directory/directory.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"
#include "pop3/maildrop.hpp"

namespace mail::pop3 {

constexpr size_t max_command_line = 1024; // RFC 2449 says 255; clients send more with SASL
constexpr unsigned session_timeout = 600; // RFC 1939 3: at least 10 minutes
constexpr int max_bad_commands = 20;

class Session {
  public:
    Session(const Config& cfg, Directory& dir, net::Stream& io, const net::Peer& peer,
            const net::TlsOptions& tls);
    int run();

  private:
    enum class State { authorization, transaction };
    struct Handler {
        const char* verb;
        void (Session::*fn)(const std::string& arg);
        bool in_authorization, in_transaction;
    };
    static const Handler handlers[];

    void ok(std::string_view text);
    void err(std::string_view text);
    bool secure() const;
    DropMessage* message(const std::string& arg); // by number, not deleted; err() when not
    void login(const std::string& user, const std::string& password);
    void send_message(const DropMessage& m, long body_lines);

    void cmd_capa(const std::string&);
    void cmd_stls(const std::string&);
    void cmd_user(const std::string&);
    void cmd_pass(const std::string&);
    void cmd_auth(const std::string&);
    void cmd_quit(const std::string&);
    void cmd_stat(const std::string&);
    void cmd_list(const std::string&);
    void cmd_uidl(const std::string&);
    void cmd_retr(const std::string&);
    void cmd_top(const std::string&);
    void cmd_dele(const std::string&);
    void cmd_noop(const std::string&);
    void cmd_rset(const std::string&);

    const Config& cfg_;
    Directory& dir_;
    net::Stream& io_;
    net::Peer peer_;
    net::TlsOptions tls_options_;
    LoginPenalty penalty_;
    net::LazyTls tls_;
    State state_ = State::authorization;
    std::string user_; // from USER, until PASS
    std::optional<Maildrop> drop_;
    bool quit_ = false;
    int errors_ = 0;
};

} // namespace mail::pop3
