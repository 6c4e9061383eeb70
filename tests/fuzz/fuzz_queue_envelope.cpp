// Fuzz the queue file readers: envelope and state.
#include <cstdint>
#include <string_view>

#include "spool/envelope.hpp"
#include "spool/spool.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    size_t body = 0;
    if (auto e = mail::queue::parse_envelope(in, body)) {
        if (body > in.size()) __builtin_trap();
        (void)mail::queue::format_envelope(*e);
    }
    if (auto s = mail::queue::parse_state(in)) (void)mail::queue::format_state(*s);
    return 0;
}
