// POP3 command lines (RFC 1939 3): a keyword, case-insensitive, then
// arguments separated by spaces. Bytes in, structure out, no I/O.
#pragma once

#include <string>
#include <string_view>

namespace mail::pop3 {

struct Command {
    std::string keyword; // upper case
    std::string arg;     // the rest, leading spaces removed
};
Command parse_command(std::string_view line);

} // namespace mail::pop3
