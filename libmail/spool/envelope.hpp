// A queue file is an envelope, a blank line, then the message with LF line
// ends, exactly as it will be delivered. The envelope is text, one field
// per line, versioned by its first line:
//
//   facteur-queue 1
//   id 1764410000.123456.P42Q1
//   arrived 1764410000
//   from<TAB>alice@example.com       ("from<TAB>" alone: the null sender)
//   dsn ret=HDRS envid=abc          (optional)
//   mail body=8BITMIME smtputf8=yes (optional)
//   rcpt<TAB>bob@example.org<TAB>notify=FAILURE,DELAY<TAB>orcpt=rfc822;bob@example.org
//   client ip=127.0.0.1 helo=x tls=TLSv1.3 auth=alice@example.com
//
// Addresses are separated by tabs: a quoted local part may hold spaces but
// never a tab or a line end (parse_address refuses control characters).
// DSN parameters are stored as received, xtext-encoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mail::queue {

struct Recipient {
    std::string address;
    std::string notify; // "" (default: FAILURE), or NEVER / SUCCESS,FAILURE,DELAY
    std::string orcpt;  // as given: "rfc822;addr" (xtext-encoded)
};

struct Envelope {
    std::string id;
    int64_t arrived = 0;
    std::string sender; // "" = null sender
    std::string ret;    // "", FULL or HDRS
    std::string envid;  // xtext-encoded
    std::string body;   // "", 7BIT or 8BITMIME (MAIL BODY=)
    bool smtputf8 = false;
    std::vector<Recipient> rcpts;
    std::string client; // informational: ip=... helo=... tls=... auth=...
};

constexpr size_t max_envelope = 256 * 1024;

std::string format_envelope(const Envelope& e);
// Parse the envelope at the start of a queue file; `body` is set to the
// offset of the message.
Result<Envelope> parse_envelope(std::string_view file, size_t& body);

} // namespace mail::queue
