// SMTP command lines (RFC 5321 4.1) as bytes in, structures out: the verb,
// and for MAIL and RCPT the path and ESMTP parameters. No I/O, so that the
// parser is unit-tested and fuzzed on its own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mail::smtp {

struct Command {
    std::string verb; // upper case
    std::string arg;  // the rest, leading spaces removed
};
Command parse_command(std::string_view line);

struct Param {
    std::string key; // upper case
    std::string value;
    bool has_value = false;
};

struct PathArg {
    std::string path; // the text between < and >, unparsed ("" for <>)
    std::vector<Param> params;
};

// "FROM:<a@b> SIZE=10" with keyword "FROM:". Accepts a space after the
// colon (common in the wild) but requires the angle brackets.
Result<PathArg> parse_path_arg(std::string_view arg, std::string_view keyword);

// RFC 3461 xtext ("+2B" for '+'); an error for a malformed escape.
Result<std::string> decode_xtext(std::string_view s);
std::string encode_xtext(std::string_view s);

} // namespace mail::smtp
