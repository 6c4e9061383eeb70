// Fuzz the header parser and the cache-field extraction.
#include <cstdint>
#include <string_view>

#include "message/header.hpp"
#include "store/index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto h = mail::parse_header(in, 4096)) {
        if (h->body_offset > in.size()) __builtin_trap();
        for (auto& f : h->fields) (void)mail::unfold(f.value);
    }
    (void)mail::cache_fields(in);
    return 0;
}
