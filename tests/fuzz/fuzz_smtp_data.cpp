// Fuzz the DATA reader: the first byte picks the chunk size and mode. The
// output must never be longer than the input, and the result must not
// depend on how the input was split.
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/data.hpp"

namespace {
struct Run {
    bool done;
    int problem;
    std::string out;
    size_t used;
};
Run run(std::string_view in, size_t chunk, bool normalize) {
    mail::smtp::DataReader r(1 << 16, 100, normalize);
    std::string out;
    size_t used = 0;
    while (used < in.size() && !r.done()) used += r.feed(in.substr(used, chunk), out);
    return {r.done(), static_cast<int>(r.problem()), out, used};
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    size_t chunk = 1 + data[0] % 17;
    bool normalize = data[0] & 0x80;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    Run a = run(in, chunk, normalize), b = run(in, in.size() + 1, normalize);
    if (a.done != b.done || a.problem != b.problem || a.out != b.out || a.used != b.used)
        __builtin_trap();
    if (a.out.size() > in.size()) __builtin_trap();
    return 0;
}
