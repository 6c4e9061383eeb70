// The time that scheduling decisions use (queue retries and expiry, delay
// warnings, auto-reply intervals, the aggregator's intervals and backoff).
// Test hook, like FACTEUR_FAULT: FACTEUR_NOW=+N runs that clock N seconds
// ahead of the real one (FACTEUR_NOW=T: at T, seconds since the epoch), so
// that tests set the time instead of sleeping.
#pragma once

#include <cstdint>

namespace mail {

int64_t now();

} // namespace mail
