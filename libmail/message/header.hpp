// The header block of a message: fields split, folded lines kept together.
// Pure: works on the message bytes, which it never copies or changes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mail {

constexpr size_t default_max_header_size = 1 << 20;

struct HeaderField {
    std::string_view name;
    std::string_view value; // raw, folding included, without the final line end
};

struct Header {
    std::vector<HeaderField> fields;
    size_t body_offset = 0; // first byte after the empty line (or size if none)

    // First field with this name (case-insensitive), unfolded.
    std::optional<std::string> get(std::string_view name) const;
    size_t count(std::string_view name) const;
};

// Parse the header of `msg` (LF or CRLF line ends). Lines that are not
// fields (no colon, bad name) end nothing; they are skipped. An mbox
// "From " first line is skipped. Errors only when the header is larger
// than `max_size`.
Result<Header> parse_header(std::string_view msg, size_t max_size = default_max_header_size);

// Text from elsewhere (a HELO name, a remote reply, an address) made fit
// for one header line or one line of a record: every control byte (NUL,
// tab, CR, LF ...) becomes a space, so that it can never start a new field.
std::string single_line(std::string_view s);

// An RFC 5322 date-time in UTC: "Sun, 29 Nov 2026 09:30:53 +0000"; a time
// before 1970 or after 9999 gives the epoch.
std::string format_date(long long unix_time);

// Join folded lines and trim surrounding white space.
std::string unfold(std::string_view value);

} // namespace mail
