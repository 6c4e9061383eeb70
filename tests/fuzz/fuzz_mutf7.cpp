// Fuzz modified UTF-7: what decodes must encode back to the same bytes
// (one spelling per name), and what encodes must decode back.
#include <cstdint>
#include <string_view>

#include "imap/mutf7.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto d = mail::imap::mutf7_decode(in)) {
        auto e = mail::imap::mutf7_encode(*d);
        if (!e || *e != in) __builtin_trap();
    }
    if (auto e = mail::imap::mutf7_encode(in)) {
        auto d = mail::imap::mutf7_decode(*e);
        if (!d || *d != in) __builtin_trap();
    }
    return 0;
}
