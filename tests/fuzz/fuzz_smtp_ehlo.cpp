// Fuzz the SMTP client's reading of an EHLO reply: the extensions it
// believes the server offers. Each keyword counts only as a whole word on
// a line of a well-formed 250 reply.
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    mail::smtp::ReplyParser p;
    auto st = p.feed("250-mx.example.test greets you");
    std::string all;
    while (st == mail::smtp::ReplyParser::State::more && !in.empty()) {
        size_t nl = in.find('\n');
        std::string_view l = in.substr(0, nl);
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        // Lines as a server would send them, the keyword lines "250-" or "250 ".
        std::string line = (in.empty() ? "250 " : "250-") + std::string(l);
        all += line + "\n";
        st = p.feed(line);
    }
    if (st != mail::smtp::ReplyParser::State::done) return 0;
    auto e = p.extensions();
    if (!e.esmtp) __builtin_trap();
    std::string lower;
    for (char c : all) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (e.starttls && lower.find("starttls") == std::string::npos) __builtin_trap();
    if (e.pipelining && lower.find("pipelining") == std::string::npos) __builtin_trap();
    if (e.auth_plain && lower.find("plain") == std::string::npos) __builtin_trap();
    if (e.size != (lower.find("size") != std::string::npos) && e.size) __builtin_trap();
    return 0;
}
