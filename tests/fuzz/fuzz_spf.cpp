// Fuzz SPF: the record parser, the macro expander, and check_host() over
// a DNS where every name has the input as its TXT record (so include and
// redirect recurse into it) and answers for A, MX and PTR: evaluation must
// end within the lookup limits whatever the record says.
#include <cstdint>
#include <string>
#include <string_view>

#include "verify/spf.hpp"

using namespace mail::verify;
using mail::net::DnsAnswer;
using mail::net::RrType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    (void)parse_spf(in);
    MacroValues v;
    v.sender = "strong-bad@email.example.com";
    v.local = "strong-bad";
    v.sender_domain = v.domain = "email.example.com";
    v.ip = "192.0.2.3";
    v.ip_readable = "192.0.2.3";
    (void)expand_macros(in, v, false);
    (void)expand_macros(in, v, true);
    int queries = 0;
    Lookup dns = [&](const std::string&, RrType t) {
        if (++queries > 1000) __builtin_trap(); // the limits did not hold
        DnsAnswer a;
        a.kind = DnsAnswer::found;
        switch (t) {
        case RrType::txt: a.values = {in}; break;
        case RrType::a: a.values = {"192.0.2.1"}; break;
        case RrType::aaaa: a.values = {"2001:db8::1"}; break;
        case RrType::mx: a.values = {"mx.example.com"}; break;
        case RrType::ptr: a.values = {"host.example.com"}; break;
        }
        return a;
    };
    auto r = check_spf(dns, SpfFacts{"192.0.2.3", "mx.example.org", "mx.here.example", 0}, "a@example.com");
    for (char c : r.explanation)
        if (c < 0x20 || c > 0x7e) __builtin_trap();
    return 0;
}
