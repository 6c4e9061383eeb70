// Recipient resolution: what an address means for delivery. Lookup order
// for local@domain of one of our domains: the exact address; then, for
// base+tag, the base address (tag kept as the target folder); then the
// catch-all alias @domain. Aliases and groups expand recursively, each
// address once (so cycles end), to at most max_alias_depth levels.
#pragma once

#include <string>
#include <vector>

#include "base/config.hpp"
#include "directory/directory.hpp"
#include "message/signature.hpp"

namespace mail {

struct LocalTarget {
    Address mailbox;    // canonical mailbox address
    std::string folder; // subaddress tag ("" = INBOX); may name no existing folder
    uint64_t quota = 0; // the mailbox's own quota, 0 = none
};

struct Resolution {
    std::vector<LocalTarget> local;
    std::vector<std::string> external; // addresses outside our domains
};

// Errors: nouser (unknown address or domain), data (loop / too deep).
// postmaster@ a local domain that names nothing (no entry, no catch-all)
// resolves as postmaster() does (RFC 5321 4.5.1).
Result<Resolution> resolve(Directory& dir, const Address& a, const Config& cfg);

// "postmaster" without a domain, in any case: the local postmaster, which
// RCPT TO must accept (RFC 5321 4.5.1) and double bounces are queued to.
bool is_bare_postmaster(std::string_view rcpt);

// Where mail to the postmaster goes: queue.postmaster when set; else the
// first postmaster@D that resolves, D the host name, then each local domain
// in order. Errors: nouser (none exists: the administrator must set
// queue.postmaster or add a postmaster@ address), data (queue.postmaster
// is not an address).
Result<Address> postmaster(Directory& dir, const Config& cfg);

// The signature of mailbox `user` and the disclaimer of its domain (empty
// when neither is set, or on a lookup error, which is logged).
Signature signature_for(Directory& dir, const std::string& user);

} // namespace mail
