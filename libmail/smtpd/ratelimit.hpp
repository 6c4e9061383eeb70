// Rate limits at mail-smtpd: counters in fixed windows (a minute, an
// hour), shared by every mail-smtpd process through
// <state>/policy/ratelimit.sqlite. A client is counted in its network at
// three sizes (IPv4 /32, /26, /21; IPv6 /64, /48, /32), each with its own
// limit; an authenticated user on its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/sqlite.hpp"

namespace mail::smtp {

Result<Db> open_ratelimit(const Config& cfg);

struct RateKey {
    std::string key; // "conn 192.0.2.0/26"
    int64_t limit;   // 0: none
};

// Counts one event (n of them) against every key, in the window of
// `window` seconds that holds `now`: all counted, or, when one key would
// go over its limit, none (and its key returned).
Result<std::optional<std::string>> rate_take(Db& db, const std::vector<RateKey>& keys, int64_t window, int64_t now,
                                             int64_t n = 1);

// The count of `key` in its current window (0 when none).
Result<int64_t> rate_count(Db& db, const std::string& key, int64_t window, int64_t now);

// The keys of a client address for one kind of count, with its limits.
std::vector<RateKey> client_keys(const std::string& kind, const std::string& ip, const int (&limits)[3]);

} // namespace mail::smtp
