// Fuzz the DMARC aggregate report reader: the input as a compressed or XML
// attachment (unpack, then the Expat-based <feedback> parser), and as a
// whole message carrying one. A parsed report written back must parse.
#include <cstdint>
#include <string>
#include <string_view>

#include "reports/feedback.hpp"

using namespace mail::reports;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto xml = unpack(in, 1 << 20);
    if (xml) {
        auto f = parse_feedback(*xml, 1000);
        if (f && !parse_feedback(write_feedback(*f))) __builtin_trap();
    }
    (void)reports_in_message(in);
    (void)is_aggregate_report(in);
    return 0;
}
