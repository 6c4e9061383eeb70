// The messages that carry our aggregate reports (RFC 9990): one per
// policy domain per day, from checks.report_from (a domain of ours, so
// that the queue signs it with DKIM), to the domain's rua= addresses that
// may receive it.
#pragma once

#include <string>
#include <vector>

#include "base/config.hpp"
#include "reports/log.hpp"
#include "verify/spf.hpp"

namespace mail::reports {

struct Outgoing {
    std::vector<std::string> to;      // the addresses that pass the checks below
    std::vector<std::string> refused; // "address: why", for the log
    bool retry = false;               // a DNS failure: try this report again later
    std::string message;              // LF line ends; empty when `to` is
};

// The report of `p`. Each rua= URI must be mailto: with an address; one
// outside the policy domain's organizational domain must be confirmed by
// "<domain>._report._dmarc.<its host>" (RFC 9990); a size limit
// ("!10m") the report exceeds drops that address.
Outgoing make_report(const Config& cfg, const verify::Lookup& dns, Pending& p, int64_t now);

// "2026-12-07" of a time (UTC).
std::string iso_day(int64_t t);

} // namespace mail::reports
