// Fuzz the MIME splitter the signatures use (an entity into header and
// body, a multipart body into its parts) and add_signature on any message:
// every part lies inside the body, in order, and a message that gets a
// signature gets it once (adding it again changes nothing).
#include <cstdint>
#include <string>
#include <string_view>

#include "message/header.hpp"
#include "message/mime.hpp"
#include "message/signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto e = mail::mime::split_entity(in);
    if (e.header.size() + e.body.size() > in.size()) __builtin_trap();
    auto h = mail::parse_header(e.header);
    auto ct = mail::mime::parse_content_type(h ? h->get("Content-Type").value_or("") : "");
    if (ct.is("multipart")) {
        size_t last = 0;
        for (auto [begin, end] : mail::mime::multipart_parts(e.body, ct.param("boundary"))) {
            if (begin > end || end > e.body.size() || begin < last) __builtin_trap();
            last = end;
        }
    }
    mail::Signature s;
    s.text = "Alice";
    s.html = "<p>Alice</p>";
    if (auto once = mail::add_signature(in, s))
        if (mail::add_signature(*once, s)) __builtin_trap();
    return 0;
}
