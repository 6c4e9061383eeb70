// Fuzz the replies a POP3 server sends mail-fetch: status lines, the
// UIDL and LIST listings, and the dot-unstuffing of multi-line answers.
#include <cstdint>
#include <string>
#include <string_view>

#include "fetch/pop3.hpp"

using namespace mail::fetch::pop3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string line;
    bool ended = false;
    while (!in.empty()) {
        size_t nl = in.find('\n');
        std::string_view l = in.substr(0, nl);
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        (void)status(l);
        for (bool uidl : {true, false})
            if (auto m = listing_line(l, uidl)) {
                if (m->number <= 0 || m->size < 0) __builtin_trap();
                if (uidl && (m->uidl.empty() || m->uidl.size() > 70)) __builtin_trap();
            }
        if (!ended && !unstuff(l, line)) ended = true;
        else if (!ended && line.size() > l.size()) __builtin_trap();
    }
    return 0;
}
