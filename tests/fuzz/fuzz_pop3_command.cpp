// Fuzz the POP3 server's command splitter: the keyword is upper case and
// never holds a space, the argument never starts with one, and both come
// from the line.
#include <cstdint>
#include <string_view>

#include "pop3/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto c = mail::pop3::parse_command(in);
    if (c.keyword.find(' ') != std::string::npos) __builtin_trap();
    for (char ch : c.keyword)
        if (ch >= 'a' && ch <= 'z') __builtin_trap();
    if (!c.arg.empty() && c.arg[0] == ' ') __builtin_trap();
    if (c.keyword.size() + c.arg.size() > in.size()) __builtin_trap();
    return 0;
}
