// Who may send what to whom. MX: only our domains' recipients, and none of
// the old relay tricks ("x@ext"@ours, x%ext@ours, ext!x@ours,
// @ours:x@ext, x@ext@ours). Submission: any recipient, but only from
// addresses the authenticated user owns.
#pragma once

#include <string>
#include <string_view>

#include "base/config.hpp"
#include "directory/directory.hpp"

namespace mail::smtp {

struct Verdict {
    int code = 250;
    std::string dsn = "2.1.5";
    std::string text = "recipient OK";
    std::string address; // canonical form to queue
    bool ok() const { return code < 300; }
};

// `path` is the text between < and > of RCPT TO.
Verdict check_recipient(Directory& dir, const Config& cfg, bool relay_allowed,
                        std::string_view path);

// Whether `user` (a mailbox address) may use `a` as its sender: the
// mailbox itself (also with a +tag), or an alias that delivers to it.
bool owns(Directory& dir, const Config& cfg, const std::string& user, const Address& a);

} // namespace mail::smtp
