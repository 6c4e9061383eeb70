// Fuzz DKIM and ARC verification: the input is the message (its
// DKIM-Signature and ARC fields parsed as tag-lists, its header and body
// canonicalized), and its last line is also the key record every lookup
// returns.
#include <cstdint>
#include <string>
#include <string_view>

#include "verify/dkim.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    (void)mail::verify::parse_tag_list(in);
    std::string record = in.substr(in.rfind('\n') == std::string::npos ? 0 : in.rfind('\n') + 1);
    int queries = 0;
    mail::verify::Lookup dns = [&](const std::string&, mail::net::RrType) {
        if (++queries > 100) __builtin_trap(); // more lookups than signatures verified
        mail::net::DnsAnswer a;
        a.kind = mail::net::DnsAnswer::found;
        a.values = {record};
        return a;
    };
    auto results = mail::verify::verify_dkim(dns, in, {5, 1700000000});
    if (results.size() > 5) __builtin_trap();
    queries = 0; // ARC: the newest message signature and at most 50 seals
    auto arc = mail::verify::verify_arc(dns, in, 1700000000);
    if (arc.instances > 50 || (arc.result != "none" && arc.result != "pass" && arc.result != "fail")) __builtin_trap();
    return 0;
}
