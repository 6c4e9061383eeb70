// Fuzz the message side of mail-imapd: FETCH sections of any message
// (part numbers, HEADER, HEADER.FIELDS (.NOT), TEXT, MIME), the CRLF
// conversion of partial fetches (a slice must equal the same bytes of the
// whole converted text), BINARY decoding, the cache row, and the decoded
// search text (RFC 2047 words, charsets). The first bytes choose the
// section; the rest is the message.
#include <cstdint>
#include <string>
#include <string_view>

#include "imapd/message.hpp"
#include "imap/syntax.hpp"
#include "message/mime.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4) return 0;
    using namespace mail::imap;
    Section s;
    size_t depth = data[0] % 5;
    static const char* const texts[] = {"", "HEADER", "TEXT", "MIME", "HEADER.FIELDS", "HEADER.FIELDS.NOT"};
    s.text = texts[data[1] % 6];
    if (s.text.starts_with("HEADER.FIELDS")) s.fields = {"SUBJECT", "FROM"};
    size_t pos = 2;
    for (size_t i = 0; i < depth && pos < size; i++) s.part.push_back(data[pos++] % 4);
    uint32_t offset = pos < size ? data[pos++] * 7u : 0;
    std::string_view msg(reinterpret_cast<const char*>(data) + pos, size - pos);

    std::string storage;
    if (auto t = section_text(msg, s, storage)) {
        std::string whole;
        bool cr = false;
        append_crlf(*t, whole, cr);
        if (whole.size() != crlf_size(*t)) __builtin_trap();
        std::string piece;
        auto slice = crlf_slice(*t, offset, 50, piece);
        if (slice != std::string_view(whole).substr(std::min<size_t>(offset, whole.size()), 50)) __builtin_trap();
    }
    bool unknown = false;
    (void)binary_text(msg, s, unknown);
    mail::CacheRow r = cache_row(msg);
    for (const std::string* v : {&r.envelope, &r.body, &r.bodystructure}) {
        size_t p = 0;
        auto parsed = parse_values(*v, p);
        if (!parsed || parsed->size() != 1) __builtin_trap();
    }
    (void)search_text(msg, 1 << 16);
    (void)mail::mime::decode_words(msg.substr(0, 512));
    return 0;
}
