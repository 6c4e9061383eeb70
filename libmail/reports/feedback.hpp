// DMARC aggregate reports (RFC 9990): the <feedback> document, written as
// we send it and parsed as others send it to us (through Expat), and the
// ways it travels in mail (XML, gzip, zip attachments). Pure: text in,
// text out; every input bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mail::reports {

struct AuthResult {
    std::string domain, selector, scope; // selector for DKIM; scope (mfrom, helo) for SPF
    std::string result;
};

// One <record>: a source and its results, with how many messages had them.
struct Row {
    std::string source_ip;
    int64_t count = 0;
    std::string disposition = "none"; // none, quarantine, reject
    std::string dkim = "fail", spf = "fail"; // policy_evaluated: aligned pass, or fail
    std::string reason;                       // local_policy, mailing_list ... or ""
    std::string envelope_from, header_from;
    std::vector<AuthResult> dkim_results;
    AuthResult spf_result;
};

struct Feedback {
    std::string org_name, email, report_id;
    int64_t begin = 0, end = 0;
    // policy_published
    std::string domain, p = "none", sp, np, adkim = "r", aspf = "r", testing = "n";
    std::vector<Row> rows;
};

// The XML document (UTF-8, the dmarc-2.0 namespace).
std::string write_feedback(const Feedback& f);

// A <feedback> document of any version that receivers send (RFC 7489's
// without a namespace, RFC 9990's with one). At most `max_rows` records.
Result<Feedback> parse_feedback(std::string_view xml, size_t max_rows = 100000);

// gzip of `data` (for the attachment we send).
std::string gzip(std::string_view data);

// The XML inside an attachment: gzip, zip (the first file) or XML as it
// is; decompressed to at most `max_size` octets.
Result<std::string> unpack(std::string_view data, size_t max_size = 32u << 20);

// Whether a message's Subject says it is an aggregate report ("Report
// Domain: ..."): no evaluation is recorded about such a message.
bool is_aggregate_report(std::string_view subject);

// The reports a message carries (its attachments or body of type gzip,
// zip or XML), each parsed; an error when it has none that parses.
Result<std::vector<Feedback>> reports_in_message(std::string_view message);

} // namespace mail::reports
