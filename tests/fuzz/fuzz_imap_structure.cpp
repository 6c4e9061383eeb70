// Fuzz BODYSTRUCTURE: any bytes as a stored message; the result must be
// one well-formed IMAP list (parsed back), for BODY and BODYSTRUCTURE.
#include <cstdint>
#include <string_view>

#include "imap/structure.hpp"
#include "imap/syntax.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (bool extended : {false, true}) {
        std::string s = mail::imap::body_structure(in, extended);
        size_t pos = 0;
        auto v = mail::imap::parse_values(s, pos);
        if (!v || v->size() != 1 || (*v)[0].kind != mail::imap::Value::Kind::list) __builtin_trap();
    }
    return 0;
}
