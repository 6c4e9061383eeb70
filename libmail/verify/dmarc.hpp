// DMARC as RFC 9989 (DMARCbis) defines it: the author domain (From:), its
// policy found by the DNS tree walk, organizational domains by the same
// walk (psd= tags, no public suffix list), relaxed or strict alignment of
// the SPF and DKIM results, and the policy to apply (p, sp, np; t=y one
// step milder). Pure apart from `Lookup`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verify/dkim.hpp"
#include "verify/spf.hpp"

namespace mail::verify {

// A DMARC record's tags that evaluation uses.
struct DmarcRecord {
    std::string p = "none", sp, np; // sp, np empty: not given
    bool adkim_strict = false, aspf_strict = false;
    bool testing = false; // t=y
    std::string psd;      // "y", "n" or "" (u)
    std::vector<std::string> rua;
};
// "v=DMARC1; p=reject; ..."; an error when it is not a DMARC record.
Result<DmarcRecord> parse_dmarc(std::string_view text);

struct DmarcVerdict {
    std::string result = "none"; // none, pass, fail, temperror, permerror
    std::string reason;
    std::string from_domain;   // header.from
    std::string policy_domain; // where the record was found
    std::optional<DmarcRecord> record;
    std::string policy = "none";       // what the record asks for this message (p, sp or np)
    std::string disposition = "none";  // what to do: none, quarantine, reject (t=y one step milder)
    bool spf_aligned = false, dkim_aligned = false;
};

// `message` for its From: field; the SPF verdict (its domain: MAIL FROM,
// or HELO for the null sender) and the DKIM results already made.
DmarcVerdict check_dmarc(const Lookup& dns, std::string_view message, const SpfVerdict& spf,
                         const std::vector<DkimResult>& dkim);
// The same with the message's header already parsed.
DmarcVerdict check_dmarc(const Lookup& dns, const Header& header, const SpfVerdict& spf,
                         const std::vector<DkimResult>& dkim);

// The DMARC record that governs `domain` (the first of the tree walk);
// nullopt when there is none or DNS failed.
std::optional<DmarcRecord> dmarc_policy_of(const Lookup& dns, const std::string& domain);

// The organizational domain of `domain` by the tree walk (public for the
// tests); nullopt when DNS failed.
std::optional<std::string> organizational_domain(const Lookup& dns, const std::string& domain);

} // namespace mail::verify
