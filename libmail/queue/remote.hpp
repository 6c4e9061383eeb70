// Remote delivery: the messages due for one destination (a domain, or the
// relay host) are sent over one SMTP connection to the best mail host that
// answers, each message's results recorded as soon as it is sent. One
// process per destination (see mail-queue run), so that a slow destination
// holds up nobody else.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "directory/directory.hpp"
#include "message/dkim.hpp"
#include "spool/envelope.hpp"
#include "spool/spool.hpp"

namespace mail::queue {

struct Job {
    std::string id;
    std::vector<std::string> recipients;
};

// Where `address` is sent: its domain in lower case, or "[relay]" when
// everything goes to outbound.relay_host.
std::string destination_of(const Config& cfg, const std::string& address);

// DKIM keys of our domains, read from the directory and the key files
// once per process.
class Signer {
  public:
    explicit Signer(const Config& cfg) : cfg_(cfg) {}
    // The DKIM-Signature fields to put before `message` ("" when it is not
    // to be signed: not submitted by one of our users, or no key for the
    // domain of its From).
    std::string sign(const Envelope& env, std::string_view message, int64_t now);

  private:
    const std::vector<dkim::Key>& keys(const std::string& domain);
    const Config& cfg_;
    std::optional<Directory> dir_;
    std::map<std::string, std::vector<dkim::Key>> keys_;
};

void deliver_remote(const Config& cfg, const Spool& spool, const std::string& destination,
                    const std::vector<Job>& jobs, Signer& signer);

} // namespace mail::queue
