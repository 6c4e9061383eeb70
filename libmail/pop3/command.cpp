#include "command.hpp"

namespace mail::pop3 {

Command parse_command(std::string_view line) {
    size_t sp = line.find(' ');
    Command c;
    for (char ch : line.substr(0, sp)) c.keyword += ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 32) : ch;
    if (sp == std::string_view::npos) return c;
    std::string_view rest = line.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    c.arg = rest;
    return c;
}

} // namespace mail::pop3
