// <state>/reports/dmarc.sqlite: the DMARC evaluations of the mail we
// receive, counted per day, policy domain and outcome (what the aggregate
// reports we send are made of), and the aggregate reports others send
// about our domains.
//
// mail-smtpd records through its group (reports/ is 2770, the database
// 0660, as auth/); the owner's mail-admin sends and summarises.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/sqlite.hpp"
#include "reports/feedback.hpp"
#include "verify/checks.hpp"

namespace mail::reports {

Result<Db> open_log(const Config& cfg);

// One checked message, counted on its day (UTC) when its author domain
// has a DMARC record that asks for reports (rua=) and checks.report_from
// is set. `ip` the client's address. Errors are the caller's to log: a
// report is never a reason to refuse mail.
Status record(Db& db, const verify::Checks& c, const std::string& ip, int64_t now);

// What is recorded for one policy domain on one day: the report's body
// and where the domain asks for it.
struct Pending {
    int64_t day = 0; // 00:00 UTC
    Feedback feedback;
    std::vector<std::string> rua;
};
// Every domain's report for the days before `before` (a day start).
Result<std::vector<Pending>> pending(Db& db, int64_t before);
// The day's rows of that domain, once its report is queued.
Status forget(Db& db, int64_t day, const std::string& domain);

// A report received about one of our domains; false when it was there
// already (the same org_name, report_id and domain).
Result<bool> add_received(Db& db, const Feedback& f, int64_t now);

// Per sender: who sends as `domain` (every domain if empty), according to
// the reports received, and how it fares.
struct Source {
    std::string domain, source_ip, header_from;
    std::vector<std::string> reporters;
    int64_t messages = 0, dmarc_pass = 0, spf_pass = 0, dkim_pass = 0, quarantined = 0, rejected = 0;
    int64_t first = 0, last = 0;
};
Result<std::vector<Source>> summary(Db& db, const std::string& domain);

} // namespace mail::reports
