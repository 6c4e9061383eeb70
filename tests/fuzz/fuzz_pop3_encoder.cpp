// Fuzz the POP3 message encoder: the output must not depend on how the
// file was split, every line must end in CRLF, and no line may be a lone
// "." (it would end the response early).
#include <cstdint>
#include <string>
#include <string_view>

#include "pop3/maildrop.hpp"

static std::string encode(std::string_view in, long lines, size_t chunk) {
    mail::pop3::Pop3Encoder e(lines);
    std::string out;
    for (size_t i = 0; i < in.size(); i += chunk) e.feed(in.substr(i, chunk), out);
    e.finish(out);
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    long lines = data[0] & 0x80 ? -1 : data[0] & 7;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string a = encode(in, lines, 1 + data[0] % 13), b = encode(in, lines, in.size() + 1);
    if (a != b) __builtin_trap();
    if (!a.empty() && !a.ends_with("\r\n")) __builtin_trap();
    if (a.starts_with(".\r\n") || a.find("\r\n.\r\n") != std::string::npos) __builtin_trap();
    return 0;
}
