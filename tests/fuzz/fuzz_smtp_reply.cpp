// Fuzz the SMTP client's reply parser: lines of a server's reply, any
// bytes; the result is a reply or a clean failure, never a crash.
#include <cstdint>
#include <string_view>

#include "smtp/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    mail::smtp::ReplyParser p;
    auto st = mail::smtp::ReplyParser::State::more;
    while (st == mail::smtp::ReplyParser::State::more && !in.empty()) {
        size_t nl = in.find('\n');
        st = p.feed(in.substr(0, nl));
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    }
    if (st == mail::smtp::ReplyParser::State::done) {
        int c = p.reply().code;
        if (c < 200 || c > 599) __builtin_trap();
        (void)p.extensions();
        (void)p.reply().dsn();
    }
    if (st == mail::smtp::ReplyParser::State::bad && p.reply().code != 0) __builtin_trap();
    return 0;
}
