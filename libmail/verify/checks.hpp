// The checks of one inbound message, as mail-smtpd (MX role) and
// mail-verify make them: SPF, DKIM, DMARC, the Authentication-Results
// field, and what DMARC asks the MX to do with the message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/config.hpp"
#include "verify/authres.hpp"

namespace mail::verify {

struct Checks {
    SpfVerdict spf;
    std::vector<DkimResult> dkim;
    ArcResult arc; // information only: DMARC does not use it
    DmarcVerdict dmarc;
    std::string field;         // "Authentication-Results: ...", LF line ends, no final LF
    std::string disposition;   // none, quarantine, reject: after the allow-list
    bool allowed = false;      // the sender is on checks.dmarc_allow
};

// Several questions asked at once (net::Resolver::query_all).
using LookupAll = std::function<std::vector<net::DnsAnswer>(const std::vector<std::pair<std::string, net::RrType>>&)>;

// `message` with LF line ends. `all`, if given, asks the questions every
// message needs (the SPF record, the DMARC record of the From domain, the
// keys of its signatures) at once first, one round trip instead of several.
Checks check_message(const Config& cfg, const Lookup& dns, const SpfFacts& facts, const std::string& mail_from,
                     std::string_view message, const LookupAll& all = {});

// The message without the Authentication-Results fields that claim to be
// ours (RFC 8601 5: a forgery, or a copy that came back).
std::string remove_our_results(std::string_view message, const std::string& authserv_id);

// The authserv-id at the start of an Authentication-Results value.
std::string authserv_id_of(std::string_view value);

} // namespace mail::verify
