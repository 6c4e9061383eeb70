// A stored message as the IMAP server serves it: mapped from its file
// (never copied whole), sections of FETCH BODY[...] found in it, line ends
// turned into CRLF on the way out, the cache row (sizes, ENVELOPE, BODY,
// BODYSTRUCTURE) and the decoded UTF-8 text that SEARCH looks in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "imapd/command.hpp"
#include "store/index.hpp"

namespace mail::imap {

// A read-only mapping of a whole file (an empty file maps to "").
class MappedFile {
  public:
    static Result<MappedFile> open(int fd, const std::string& name);
    MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; }
    MappedFile& operator=(MappedFile&&) = delete;
    ~MappedFile();
    std::string_view view() const { return {data_ ? data_ : "", size_}; }

  private:
    MappedFile(const char* d, size_t n) : data_(d), size_(n) {}
    const char* data_;
    size_t size_;
};

// Size of `s` with every LF not preceded by CR counted as CRLF.
uint64_t crlf_size(std::string_view s);
// Append `s` with bare LFs as CRLF. `prev_cr`: whether the byte before `s`
// was a CR (pieces of one text), updated.
void append_crlf(std::string_view s, std::string& out, bool& prev_cr);
// The CRLF form's bytes [offset, offset+length) of `s`, as a view when no
// conversion is needed, else copied into `storage`.
std::string_view crlf_slice(std::string_view s, uint64_t offset, uint64_t length, std::string& storage);

// The text of a FETCH section (RFC 3501 6.4.5) in `msg` (LF form): a view
// into it, or built text (HEADER.FIELDS) in `storage`. nullopt when the
// part does not exist (the answer is then an empty string).
std::optional<std::string_view> section_text(std::string_view msg, const Section& s, std::string& storage);
// The content of a part decoded from its Content-Transfer-Encoding for
// FETCH BINARY (part numbers only: s.text is not used); nullopt: no such part; `unknown_cte` set when the encoding
// is not one we know (the answer is then NO [UNKNOWN-CTE]).
std::optional<std::string> binary_text(std::string_view msg, const Section& s, bool& unknown_cte);

CacheRow cache_row(std::string_view msg);

// Decoded text for SEARCH: the header fields as "Name: value" lines with
// RFC 2047 words decoded, and the text of every text/* part (transfer
// encoding undone, charset converted to UTF-8), at most `limit` bytes.
struct SearchText {
    std::string header, body;
};
SearchText search_text(std::string_view msg, size_t limit = 4u << 20);

// The addresses of an address field as ENVELOPE reads them, "local@domain"
// one a line (comments, routes and quotes gone): what SEARCH FROM, TO, CC
// and BCC match besides the field's text.
std::string address_forms(std::string_view value);

} // namespace mail::imap
