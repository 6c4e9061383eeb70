// Fuzz the RFC 5321 and RFC 5322 address parsers and the IDN conversion.
#include <cstdint>
#include <string_view>

#include "message/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto a = mail::parse_path(in)) {
        auto again = mail::parse_address(a->str());
        if (!a->empty() && (!again || again->str() != a->str())) __builtin_trap();
    }
    (void)mail::parse_address_list(in);
    if (mail::read_address_list(in).size() > 1001) __builtin_trap(); // bounded (1000 and a group's end)
    (void)mail::normalize_domain(in);
    return 0;
}
