// Fuzz base64 and SASL PLAIN decoding; base64 must round-trip.
#include <cstdint>
#include <string_view>

#include "auth/sasl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto d = mail::base64_decode(in)) {
        (void)mail::parse_plain(*d);
        if (!d->empty() && mail::base64_encode(*d) != in) __builtin_trap();
    }
    if (mail::base64_decode(mail::base64_encode(in)).value_or("x") != in && !in.empty())
        __builtin_trap();
    return 0;
}
