// Fuzz the aggregator's IMAP response parser: any bytes as a server's
// response (lines and literals); a parsed response or a clean error, never
// a crash, and bounded nesting.
#include <cstdint>
#include <string_view>

#include "fetch/imap.hpp"

namespace {
size_t depth(const mail::fetch::imap::Value& v) {
    size_t d = 0;
    for (auto& i : v.items) d = std::max(d, depth(i));
    return d + 1;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = mail::fetch::imap::parse_response(in);
    if (!r) return 0;
    if (r->tag.empty()) __builtin_trap();
    for (auto& v : r->data) {
        if (depth(v) > 70) __builtin_trap();
        (void)v.nil();
    }
    (void)mail::fetch::imap::parse_internal_date(in);
    return 0;
}
