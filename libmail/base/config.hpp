// facteur.toml: every setting has a default, so a state directory is all a
// test or a demo needs. See facteur.toml(5) for the meaning of each key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"

namespace mail {

constexpr const char* default_config_path = "/etc/facteur/facteur.toml";
constexpr const char* default_state_dir = "/var/lib/facteur";

// A DNS blocklist (RFC 5782) as configured: its zone and the answers that
// count as listed, inclusive IPv4 ranges; empty: any address in
// 127.0.0.0/8 but 127.0.0.1 (RFC 5782 5).
struct DnsblZone {
    std::string zone;
    std::vector<std::pair<uint32_t, uint32_t>> listed;
};
// "zen.spamhaus.org" or "zen.spamhaus.org=127.0.0.2-127.0.0.11,127.0.0.20".
Result<DnsblZone> parse_dnsbl_zone(std::string_view spec);

struct Config {
    std::string state_dir = default_state_dir;
    std::string hostname; // empty: gethostname()
    struct {
        uint64_t max_message_size = 50ull << 20;
        std::string recipient_delimiter = "+";
        int max_alias_depth = 10;
        int max_hops = 50; // Received: + Delivered-To: lines before a loop is declared
        uint64_t default_quota = 0; // bytes, 0 = unlimited
    } delivery;
    struct {
        std::string cert; // empty: <state_dir>/tls/cert.pem made by mail-admin init
        std::string key;
    } tls;
    struct {
        int max_line = 1000;          // text line in DATA, without CRLF
        int max_recipients = 100;     // per message, then 452 4.5.3
        int max_bad_commands = 20;    // then 421 and disconnect
        int command_timeout = 300;    // seconds (RFC 5321 4.5.3.2)
        int data_timeout = 600;       // seconds for the whole DATA or BDAT phase
        uint64_t max_header_size = 1 << 20;
        bool normalize_bare_line_ends = false; // false: bare CR/LF in DATA is 5.5.2
        uint64_t min_free_space = 100ull << 20; // below: 452 4.3.1 at MAIL
        bool loopback_is_secure = true;   // AUTH allowed without TLS on 127/8, ::1
        bool received_client_ip = false;  // authenticated: client IP in Received?
        int max_children = 100;           // --listen: processes in all
        int max_per_ip = 10;              // --listen: processes per client address
        int max_use = 100;                // --listen: connections a process serves in turn
        bool deliver_local = true;        // local recipients delivered before the 250 (as the store's owner)
        std::string user;                 // started as root: become this user (empty: the store's owner)
    } smtpd;
    struct {
        int retry_min = 300;            // first retry after a temporary failure (s)
        int retry_max = 3600;           // the interval doubles up to this
        int max_age = 5 * 24 * 3600;    // then the message bounces
        int workers = 4;                // delivery processes of `mail-queue run`
        int delay_warning = 4 * 3600;   // warn the sender once after this (0: never)
        std::string postmaster;         // double bounces; empty: postmaster@hostname
    } queue;
    struct {
        std::string dns_servers;        // "ip:port,..."; empty: /etc/resolv.conf
        int dns_timeout = 5;            // seconds per try
        int port = 25;                  // of remote MX hosts (another port only for tests)
        int connect_timeout = 30;
        int max_connections = 20;       // in all
        int max_per_destination = 4;    // to one domain (or the relay host)
        int messages_per_connection = 100;
        bool plaintext_fallback = true; // retry without TLS when a STARTTLS handshake fails
        std::string helo_name;          // empty: hostname
        std::string relay_host;         // "host:port": send everything there (smart host)
        std::string relay_tls = "starttls"; // starttls (required), implicit, none
        std::string relay_ca;           // CA file to verify the relay host; empty: system CAs
        bool relay_verify = true;
        std::string relay_user;
        std::string relay_password_file;
    } outbound;
    struct {
        bool inbound = true;            // mail-smtpd (MX role): SPF, DKIM, DMARC, Authentication-Results
        std::vector<std::string> dmarc_allow; // senders (address, domain) whose DMARC failures are not enforced
        uint64_t max_verified_size = 50ull << 20; // held in memory to be checked; larger: not checked
        std::string dns_servers;        // the checks of inbound mail; empty: outbound.dns_servers
        int dns_timeout = 5;            // seconds per try
        int dns_budget = 20;            // seconds of DNS for all the checks of one message
        int dkim_max_signatures = 5;    // DKIM signatures verified per message
        // DMARC aggregate reports (RFC 9990) about the mail we receive, sent
        // daily by `mail-admin dmarc send`; empty: none recorded or sent.
        std::string report_from;        // an address of one of our domains (DKIM-signed by the queue)
        std::string report_org;         // org_name in the reports; empty: hostname
    } checks;
    struct {
        // DNS blocklists (RFC 5782) asked for each MX client: "zone" or
        // "zone=127.0.0.2-127.0.0.11,127.0.0.20" (the answers that count).
        std::vector<DnsblZone> zones;       // listed: 554 5.7.1 at RCPT (postmaster@ still reached)
        std::vector<DnsblZone> score_zones; // listed: a header line for the content filter, nothing refused
        std::vector<std::string> allow;       // networks ("192.0.2.0/24"), or domains whose SPF passes
    } dnsbl;
    struct {
        // Greylisting at the MX: the first attempt of a (client network,
        // sender, recipient) triplet is 451 4.7.1, a retry after `delay`
        // and within `retry_window` passes.
        bool enabled = false;
        int delay = 300;                // seconds
        int retry_window = 2 * 86400;   // seconds
        int expire = 35 * 86400;        // triplets and trusted clients unused this long are forgotten
        int trust_after = 5;            // a client network that passed this many triplets is not greylisted
        bool skip_dmarc = true;         // skipped when SPF passes for a domain with DMARC p=reject or quarantine
        std::vector<std::string> allow; // networks, sender domains or addresses never greylisted
        int max_entries = 100000;       // triplets kept at most (the oldest go first)
    } greylist;
    struct {
        // Rate limits at mail-smtpd, counted across its processes in
        // policy/ratelimit.sqlite. Per client network at three sizes: IPv4
        // /32, /26, /21 and IPv6 /64, /48, /32 (0: no limit at that size).
        bool enabled = false;
        int connections[3] = {60, 300, 1000};  // per minute
        int messages[3] = {300, 1000, 3000};   // per hour (MAIL FROM accepted)
        int recipients[3] = {1000, 3000, 10000}; // per hour (RCPT accepted)
        int failed_rcpts = 20;     // unknown recipients per hour per /32 (/64): then 421, and refused until the hour ends
        int user_messages = 500;   // per hour per authenticated user (submission)
        int user_recipients = 2000;
    } ratelimit;
    struct {
        int max_parallel = 4;       // accounts synced at once (mail-fetch)
        int max_idle = 100;         // IMAP IDLE sessions held at once (--daemon)
        int timeout = 60;           // connect and each network step
        int command_timeout = 600;  // the whole answer to one command (a message body: each)
        int retry_max = 3600;       // failures back off from 1 minute, doubling up to this
        int max_auth_failures = 3;  // refused logins in a row, then the account is disabled
    } fetch;
    struct {
        int max_children = 1000;    // --listen: sessions in all
        int max_per_ip = 100;       // --listen: sessions per client address (an office behind NAT)
        int max_userip = 10;        // logged-in sessions of one user from one address
    } imapd;
    std::string log_level = "info";

    std::string directory_path() const { return state_dir + "/directory.sqlite"; }
    std::string mail_root() const { return state_dir + "/mail"; }
    // Failed logins, written by every server (mail-smtpd included).
    std::string auth_db_path() const { return state_dir + "/auth/auth.sqlite"; }
    // DMARC evaluations (written by mail-smtpd) and the reports received.
    std::string dmarc_db_path() const { return state_dir + "/reports/dmarc.sqlite"; }
    // Greylisting's triplets (written by mail-smtpd, like auth/).
    std::string greylist_db_path() const { return state_dir + "/policy/greylist.sqlite"; }
    std::string ratelimit_db_path() const { return state_dir + "/policy/ratelimit.sqlite"; }
    // The key that seals stored secrets (auth/secret.hpp), mode 0600.
    std::string secret_key_path() const { return state_dir + "/secret.key"; }
    // A DKIM private key (PEM, readable by the mail user only).
    std::string dkim_key_path(const std::string& domain, const std::string& selector) const {
        return state_dir + "/dkim/" + domain + "/" + selector + ".pem";
    }
    std::string cert_path() const { return tls.cert.empty() ? state_dir + "/tls/cert.pem" : tls.cert; }
    std::string key_path() const { return tls.key.empty() ? state_dir + "/tls/key.pem" : tls.key; }
};

// Parse TOML text; `origin` names the source in errors.
Result<Config> parse_config(std::string_view text, std::string_view origin);

// Load the configuration: `explicit_path` (from --config) or $FACTEUR_CONFIG
// or the default path (missing default file = all defaults). Then
// $FACTEUR_STATE_DIR overrides state_dir.
Result<Config> load_config(const std::optional<std::string>& explicit_path);

// "50M", "1G", "1048576", "unlimited"/"0" -> bytes
Result<uint64_t> parse_size(std::string_view text);
// "30s", "5m", "4h", "5d", "300" -> seconds
Result<int> parse_duration(std::string_view text);

std::string host_name(const Config& cfg);

} // namespace mail
