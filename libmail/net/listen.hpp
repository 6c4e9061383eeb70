// The three ways a facteur daemon gets its connections, with the same code
// after accept: a connection on stdin/stdout (inetd, systemd Accept=yes
// with StandardInput=socket, tcpserver); sockets passed by the LISTEN_FDS
// protocol (systemd Accept=no, or Accept=yes passing the connection as fd 3);
// and --listen ADDR:PORT. Listening, the daemon hands each connection to a
// connection process it forks, which serves up to max_use connections one
// after another (Postfix's max_use), with caps on the connections served
// at once in all and per client address.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/result.hpp"
#include "net/stream.hpp"

namespace mail::net {

struct Peer {
    std::string ip; // "" when unknown (a pipe)
    bool loopback = false;
};

// The client of a connected descriptor: getpeername(), or $TCPREMOTEIP
// (UCSPI) when fd is not a socket. A pipe with neither counts as local.
Peer peer_of(int fd);

struct ServeOptions {
    std::vector<std::string> listen; // "ADDR:PORT", "[v6]:PORT"
    int max_children = 100;
    int max_per_ip = 10;
    int max_use = 1; // connections a process serves before it exits
    // Work a connection process left for later (index updates), done once
    // no connection came for a tenth of a second, and before it exits.
    std::function<void()> idle_work;
    std::string busy_reply; // written to a connection refused by a cap
    // Run once the sockets are bound, before the first connection is
    // handled (a root-started server becomes the store's owner there).
    std::function<Status()> after_bind;
};

// The servers: each has its caps and its user (see run_server).
enum class Service { smtpd, imapd, pop3d };

// --listen addresses with the service's caps of facteur.toml: imapd.* for
// IMAP, smtpd.max_children and smtpd.max_per_ip for SMTP and POP3.
ServeOptions serve_options(const Config& cfg, const std::vector<std::string>& listen,
                           std::string busy_reply, Service service);

// Handler: (in fd, out fd, peer) -> exit status of the connection's process.
using Handler = std::function<int(int, int, const Peer&)>;

// Serve connections until killed (listening) or the one connection ends.
int serve(const ServeOptions& opt, const Handler& handler);

// The main of a server after its command line (mail-smtpd, mail-imapd,
// mail-pop3d): the configuration (78 when it fails), the TLS options of
// --tls (78), then serve() with `busy_reply` for connections over the
// caps; each connection runs session(cfg, tls, in, out, peer). Started as
// root, it becomes, once its sockets are bound, the store's owner or, for
// mail-smtpd, smtpd.user when that is set (base/owner.hpp).
using SessionMain = std::function<int(const Config&, const TlsOptions&, int, int, const Peer&)>;
int run_server(const std::optional<std::string>& config, const std::string& tls_mode,
               const std::vector<std::string>& listen, std::string busy_reply, const SessionMain& session,
               Service service, std::function<void()> idle_work = {});

} // namespace mail::net
