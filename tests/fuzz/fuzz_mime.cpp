// Fuzz the MIME readers: Content-Type parameters, quoted-printable and
// base64 bodies, and the structure walk of add_signature (multipart
// nesting, boundaries, encodings) and of the 7-bit conversion (whose
// result must be 7-bit) on any message.
#include <cstdint>
#include <string_view>

#include "message/mime.hpp"
#include "message/signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto ct = mail::mime::parse_content_type(in);
    if (ct.type.empty() || ct.subtype.empty()) __builtin_trap();
    (void)ct.str();
    std::string decoded = mail::mime::qp_decode(in);
    if (decoded.size() > in.size()) __builtin_trap();
    // Encoding round-trips for text with LF line ends.
    std::string text(in);
    for (auto& c : text)
        if (c == '\r') c = '\n';
    if (mail::mime::qp_decode(mail::mime::qp_encode(text)) != text) __builtin_trap();
    if (mail::mime::base64_decode_body(mail::mime::base64_lines(in)) != in) __builtin_trap();
    (void)mail::mime::encode_text(in);
    mail::Signature s;
    s.text = "Sig";
    s.html = "<b>Sig</b>";
    s.disclaimer_text = "Confidential \xc3\xa9";
    if (auto seven = mail::mime::downgrade_to_7bit(in))
        for (unsigned char c : *seven)
            if (c >= 0x80) __builtin_trap();
    if (auto r = mail::add_signature(in, s)) (void)mail::add_signature(*r, s); // the result is read again
    return 0;
}
