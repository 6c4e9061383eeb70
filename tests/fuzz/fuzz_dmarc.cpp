// Fuzz DMARC: the record parser, and check_dmarc() on the input as a
// message (its From: field) over a DNS where every _dmarc name has the
// input's last line as its record: the walk stays within its 8 names.
#include <cstdint>
#include <string>
#include <string_view>

#include "verify/dmarc.hpp"

using namespace mail::verify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    (void)parse_dmarc(in);
    std::string record = in.substr(in.rfind('\n') == std::string::npos ? 0 : in.rfind('\n') + 1);
    int queries = 0;
    Lookup dns = [&](const std::string&, mail::net::RrType t) {
        if (++queries > 40) __builtin_trap(); // three walks of 8, and the existence check
        mail::net::DnsAnswer a;
        a.kind = mail::net::DnsAnswer::found;
        a.values = {t == mail::net::RrType::txt ? record : "192.0.2.1"};
        return a;
    };
    SpfVerdict spf;
    spf.result = Spf::pass;
    spf.domain = "a.b.c.example.com";
    DkimResult d;
    d.result = "pass";
    d.domain = "x.y.example.org";
    (void)check_dmarc(dns, in, spf, {d});
    return 0;
}
