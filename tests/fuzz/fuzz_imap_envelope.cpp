// Fuzz the ENVELOPE builder: any bytes as a message header; the result
// must always be one well-formed IMAP list (it is parsed back).
#include <cstdint>
#include <string_view>

#include "imap/envelope.hpp"
#include "imap/syntax.hpp"
#include "message/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto h = mail::parse_header(in);
    if (!h) return 0;
    std::string e = mail::imap::envelope(*h);
    size_t pos = 0;
    auto v = mail::imap::parse_values(e, pos);
    if (!v || v->size() != 1 || (*v)[0].kind != mail::imap::Value::Kind::list || (*v)[0].items.size() != 10)
        __builtin_trap();
    return 0;
}
