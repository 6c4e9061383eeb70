// Delivery status notifications (RFC 3464): the multipart/report sent to
// the envelope sender when recipients fail. Pure: text in, text out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "queue/envelope.hpp"
#include "queue/spool.hpp"

namespace mail::queue {

// Whether a recipient's NOTIFY asks for a failure report (default: yes).
bool wants_failure_report(const Recipient& r);

// The bounce message (LF line ends) for `failed` recipients of `env`.
// `message` is the original, returned whole or (RET=HDRS) its header.
std::string make_bounce(const Envelope& env, std::string_view message,
                        const std::vector<RcptState>& failed, const std::string& host,
                        int64_t now);

} // namespace mail::queue
