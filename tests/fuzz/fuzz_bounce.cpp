// Fuzz the delivery status notifications: a queue file (envelope, then the
// message) of any bytes, reported as failed and as delayed for every
// recipient; the DSN parameters it carries (ENVID, ORCPT: xtext) are read
// back into the report. The report must be a multipart/report whose
// boundary the returned message cannot end early.
#include <cstdint>
#include <string_view>

#include "queue/bounce.hpp"
#include "smtp/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    size_t body = 0;
    auto env = mail::queue::parse_envelope(in, body);
    if (!env) return 0;
    std::vector<mail::queue::RcptState> which;
    for (auto& r : env->rcpts) {
        which.push_back({r.address, mail::queue::RcptStatus::failed, 3, 0, "5.1.1", "no such user"});
        (void)mail::queue::wants_failure_report(r);
        (void)mail::queue::wants_delay_report(r);
        (void)mail::smtp::decode_xtext(r.orcpt);
    }
    for (auto kind : {mail::queue::Report::failed, mail::queue::Report::delayed}) {
        std::string b = mail::queue::make_bounce(*env, in.substr(body), which, "mx.example.test",
                                                 1764410000, kind);
        if (b.find("Content-Type: multipart/report; report-type=delivery-status;") == std::string::npos)
            __builtin_trap();
        if (b.find("\r") != std::string::npos && in.find('\r') == std::string_view::npos) __builtin_trap();
    }
    return 0;
}
