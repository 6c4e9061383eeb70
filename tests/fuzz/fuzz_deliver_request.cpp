// Fuzz the delivery service's wire format (deliver/request.hpp): requests
// from mail-deliver, answers from the service; what parses formats back to
// something that parses the same.
#include <cstdint>
#include <string_view>

#include "deliver/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto r = mail::service::parse_request(in)) {
        auto again = mail::service::parse_request(mail::service::format_request(*r));
        if (!again || again->sender != r->sender || again->recipients != r->recipients) __builtin_trap();
    }
    if (auto a = mail::service::parse_answer(in)) {
        if (a->lines.size() != a->ok.size()) __builtin_trap();
        auto again = mail::service::parse_answer(mail::service::format_answer(*a));
        if (!again || again->exit_code != a->exit_code || again->lines.size() != a->lines.size()) __builtin_trap();
    }
    (void)mail::service::sender_arg(std::string(in.substr(0, 300)));
    return 0;
}
