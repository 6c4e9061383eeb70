// Delivery status notifications (RFC 3464): the multipart/report sent to
// the envelope sender when recipients fail. Pure: text in, text out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spool/envelope.hpp"
#include "spool/spool.hpp"

namespace mail::queue {

// Whether a recipient's NOTIFY asks for a failure report (default: yes)
// or a delay warning (default: yes, when queue.delay_warning is set).
bool wants_failure_report(const Recipient& r);
bool wants_delay_report(const Recipient& r);

enum class Report { failed, delayed };

// The report (LF line ends) about recipients `which` of `env`: a bounce
// (Action: failed) returns the original whole or, for RET=HDRS, its
// header; a delay warning (Action: delayed) returns the header only.
std::string make_bounce(const Envelope& env, std::string_view message,
                        const std::vector<RcptState>& which, const std::string& host,
                        int64_t now, Report kind = Report::failed);

} // namespace mail::queue
