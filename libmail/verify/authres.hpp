// Authentication-Results (RFC 8601) as our MX adds it: the authserv-id,
// then one result per method, with a comment saying why and the property
// the method checked. Every value from DNS or the message is sanitised:
// no header injection, no comment that does not close.
#pragma once

#include <string>
#include <vector>

#include "verify/dkim.hpp"
#include "verify/dmarc.hpp"
#include "verify/spf.hpp"

namespace mail::verify {

// "spf=pass (reason) smtp.mailfrom=user@example.com", or smtp.helo for the
// null sender.
std::string spf_result(const SpfVerdict& v);

// One "dkim=..." per signature verified, or "dkim=none".
std::vector<std::string> dkim_results(const std::vector<DkimResult>& results);

// "arc=pass (2 ARC sets, ...) smtp.remote-ip=192.0.2.1" (RFC 8617 10.1).
std::string arc_result(const ArcResult& v, const std::string& ip);

// "dmarc=fail (p=reject dis=reject) header.from=example.com".
std::string dmarc_result(const DmarcVerdict& v);

// The whole field, "Authentication-Results: id;\n\t...", folded with LF
// (the Maildir convention); "none" when no method ran (RFC 8601 2.2).
std::string authentication_results(const std::string& authserv_id, const std::vector<std::string>& results);

} // namespace mail::verify
