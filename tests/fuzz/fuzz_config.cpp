// Fuzz the facteur.toml reader (toml++ plus our key checks).
#include <cstdint>
#include <string_view>

#include "base/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    (void)mail::parse_config(in, "fuzz.toml");
    (void)mail::parse_size(in);
    return 0;
}
