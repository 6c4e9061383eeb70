// Greylisting at the MX: a (client network, envelope sender, recipient)
// triplet seen for the first time is refused for now (451 4.7.1); the
// same triplet retried after greylist.delay and within
// greylist.retry_window passes, and passes from then on. A client network
// that passed greylist.trust_after triplets is trusted: not greylisted.
// Triplets and trusted networks unused for greylist.expire are forgotten;
// at most greylist.max_entries triplets are kept, the oldest go first.
// The client network is the /24 of an IPv4 address, the /64 of an IPv6
// one. State: <state>/policy/greylist.sqlite, written by every mail-smtpd.
#pragma once

#include <cstdint>
#include <string>

#include "base/config.hpp"
#include "base/sqlite.hpp"

namespace mail::smtp {

// "192.0.2.0/24", "2001:db8:1:2::/64"; empty for an address that does not parse.
std::string client_network(const std::string& ip);

struct GreylistVerdict {
    bool pass = false;
    int64_t wait = 0;  // seconds left before a retry passes
    std::string why;   // for the log: new, too early, expired, passed, trusted
};

// The decision for one triplet at `now` (mail::now(), so that tests set
// the clock), recorded. An error is the caller's to log: greylisting
// never refuses mail because its own state cannot be written.
Result<GreylistVerdict> greylist(Db& db, const Config& cfg, const std::string& ip, const std::string& sender,
                                 const std::string& rcpt, int64_t now);

Result<Db> open_greylist(const Config& cfg);

} // namespace mail::smtp
