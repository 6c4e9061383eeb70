// Where mail for a domain goes (RFC 5321 5.1), looked up with c-ares: the
// MX hosts in preference order (equal preferences shuffled), each with its
// addresses; no MX record means the domain's own address; a null MX
// (RFC 7505) means the domain takes no mail. Lookups are synchronous for
// the caller (one delivery process per destination) but the address
// queries of all MX hosts run at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

typedef struct ares_channeldata* ares_channel;

namespace mail::net {

// The record types the checks of inbound mail ask for (SPF, DKIM, DMARC).
enum class RrType { a = 1, ptr = 12, mx = 15, txt = 16, aaaa = 28 };

// One question's outcome. SPF and DMARC tell the kinds apart: no such
// name, a name without records of that type, and a failure (SERVFAIL,
// REFUSED, a timeout) each lead to a different result.
struct DnsAnswer {
    enum Kind { found, nxdomain, nodata, failed } kind = failed;
    // A and AAAA: numeric addresses; MX and PTR: host names (no final
    // dot); TXT: each record's strings joined, bytes as they came.
    std::vector<std::string> values;
    std::string error; // failed: what went wrong
};

struct MailHost {
    std::string name;
    int preference = 0;
    std::vector<std::string> addresses; // numeric, IPv6 and IPv4
};

class Resolver {
  public:
    // `servers`: "" for /etc/resolv.conf, or "ip:port,[ip6]:port".
    // `timeout_ms`: for each try (two tries per server).
    static Result<Resolver> open(const std::string& servers, int timeout_ms);
    Resolver(Resolver&& o) noexcept;
    Resolver& operator=(Resolver&&) = delete;
    ~Resolver();

    // The hosts that receive mail for `domain`, best first, only those with
    // an address. Errors carry an enhanced status code at the start of
    // their text: Errc::unavailable for a permanent answer (no such domain
    // 5.1.2, null MX 5.1.10, no address 5.4.4), Errc::tempfail otherwise.
    Result<std::vector<MailHost>> mail_hosts(const std::string& domain);
    // The addresses of one host (a numeric address is returned as it is).
    Result<std::vector<std::string>> addresses(const std::string& host);
    // One question, as it is (no search domains).
    DnsAnswer query(const std::string& name, RrType type);
    // Several questions at once: one wait for all of them.
    std::vector<DnsAnswer> query_all(const std::vector<std::pair<std::string, RrType>>& questions);
    // Questions sent now, answered while the caller does something else
    // (an SMTP session receiving the message): query() and query_all()
    // take their answers instead of asking again. forget_prefetched()
    // cancels what is still in flight and drops the answers (a new
    // transaction).
    void prefetch(const std::vector<std::pair<std::string, RrType>>& questions);
    void forget_prefetched();
    struct Prefetched; // questions in flight or answered

  private:
    explicit Resolver(ares_channel ch);
    void lookup_addresses(std::vector<MailHost>& hosts, std::vector<int>& status);
    void wait();
    ares_channel ch_;
    std::unique_ptr<Prefetched> prefetched_;
};

// The enhanced status code at the start of a DNS error's text ("4.4.3").
std::string dsn_of(const Error& e);

} // namespace mail::net
