// Out-of-office replies (RFC 3834, and the rules of Sieve vacation, RFC
// 5230): whether a delivered message deserves one, and the reply itself,
// queued with the null sender. One reply per sender per interval, kept in
// <state_dir>/autoreply.sqlite (written by delivery, so not in the
// directory, which daemons only read).
#pragma once

#include <string>
#include <string_view>

#include "base/config.hpp"
#include "directory/directory.hpp"

namespace mail {

struct AutoreplyOutcome {
    bool sent = false;
    std::string reason;   // why not, or "sent"
    std::string queue_id; // when sent
};

// Why `message` (from envelope `sender`) gets no reply from `a`, or ""
// when it does. Pure: no sent-log, no clock beyond `now`.
std::string autoreply_refusal(const AutoreplySettings& a, std::string_view message,
                              const std::string& sender, int64_t now);

// The reply (LF line ends) to `message` from `a`.
std::string autoreply_message(const AutoreplySettings& a, std::string_view message,
                              const std::string& sender, int64_t now);

// Check the rules and the sent-log, queue the reply, record it.
AutoreplyOutcome autoreply(const Config& cfg, const AutoreplySettings& a, std::string_view message,
                           const std::string& sender, int64_t now);

} // namespace mail
