// DKIM verification (RFC 6376; RFC 8463 ed25519-sha256; RFC 8301: no
// rsa-sha1, no RSA key under 1024 bits): every DKIM-Signature field of a
// message, up to a bound, each with its own result. Pure apart from
// `Lookup` (the key records).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "message/header.hpp"
#include "verify/spf.hpp"

namespace mail::verify {

// A tag-list (RFC 6376 3.2), as DKIM signatures and keys and DMARC
// records write them: "v=1; a=rsa-sha256; ...". White space around tags
// and values is dropped; a tag given twice is an error.
using Tags = std::vector<std::pair<std::string, std::string>>;
Result<Tags> parse_tag_list(std::string_view text);

struct DkimResult {
    // RFC 8601's values for dkim: none, pass, fail, neutral, temperror, permerror.
    std::string result;
    std::string reason;
    std::string domain, selector, identity, algorithm;
    std::string b; // the start of the signature, for header.b
    // A pass counts for DMARC only when the whole body was signed: no l=,
    // or l= covering all of it.
    bool whole_body = true;
    bool testing = false; // the key says t=y
};

struct DkimLimits {
    size_t max_signatures = 5; // verified; the others are not looked at
    int64_t now = 0;
};

// `message` as stored (LF or CRLF line ends: LF stands for CRLF, as it was
// sent). No signature: an empty list (dkim=none).
std::vector<DkimResult> verify_dkim(const Lookup& dns, std::string_view message, const DkimLimits& limits);
// The same with the message's header already parsed.
std::vector<DkimResult> verify_dkim(const Lookup& dns, std::string_view message, const Header& header,
                                    const DkimLimits& limits);

// ARC (RFC 8617), verified and never sealed (ARC is on its way to
// historic): the chain of ARC sets that intermediaries (mailing lists,
// forwarders) added, as information in Authentication-Results. "none"
// without ARC fields; "fail" for a broken structure, a chain a seal
// declared failed, or the newest ARC-Message-Signature or any seal that
// does not verify.
struct ArcResult {
    std::string result = "none"; // none, pass, fail
    std::string reason;
    std::string domain;   // d= of the newest seal
    size_t instances = 0; // ARC sets
};
ArcResult verify_arc(const Lookup& dns, std::string_view message, int64_t now);
ArcResult verify_arc(const Lookup& dns, std::string_view message, const Header& header, int64_t now);

} // namespace mail::verify
