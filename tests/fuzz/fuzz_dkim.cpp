// Fuzz what outbound delivery does to a stored message: the DATA encoding
// (no bare CR or LF, every line starting with '.' stuffed) and DKIM's
// relaxed canonicalization and header parsing (signing with no key).
#include <cstdint>
#include <string_view>

#include "message/dkim.hpp"
#include "smtp/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    mail::smtp::DotStuffer d;
    std::string out;
    d.feed(in.substr(0, size / 2), out);
    d.feed(in.substr(size / 2), out);
    d.finish(out);
    for (size_t i = 0; i < out.size(); i++) {
        if (out[i] == '\r' && (i + 1 >= out.size() || out[i + 1] != '\n')) __builtin_trap();
        if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')) __builtin_trap();
        bool line_start = i == 0 || out[i - 1] == '\n';
        if (line_start && out[i] == '.' && (i + 1 >= out.size() || out[i + 1] != '.')) __builtin_trap();
    }
    if (!out.empty() && !out.ends_with("\r\n")) __builtin_trap();
    std::string body = mail::dkim::relaxed_body(in);
    if (!body.empty() && (!body.ends_with("\r\n") || body.ends_with("\r\n\r\n"))) __builtin_trap();
    (void)mail::dkim::sign(in, {}, 0);
    return 0;
}
