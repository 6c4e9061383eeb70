// IMAP syntax shared by the server and the aggregator's client (RFC 3501
// section 9, RFC 9051): the values a command or a response is made of,
// read from the wire form (lines with CRLF, each literal "{n}" or "{n+}"
// followed by CRLF and its n bytes inline). Pure, bounded, fuzzed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mail::imap {

// An atom (numbers, flags, NIL, sequence sets, and section specs such as
// BODY[HEADER.FIELDS (X)]<0.10> are atoms), a string (quoted or literal),
// or a parenthesized list.
struct Value {
    enum class Kind { atom, string, list } kind = Kind::atom;
    std::string text;
    std::vector<Value> items;
    bool literal = false; // a string sent as a literal
    bool is(std::string_view atom) const; // an atom, case-insensitive
    bool nil() const { return is("NIL"); }
};

constexpr int max_nesting = 64;

// Values from `pos` up to the end of the line (CRLF outside any literal)
// or of `wire`; `pos` ends after the CRLF. Errors name the problem.
Result<std::vector<Value>> parse_values(std::string_view wire, size_t& pos);

// A literal announced at the end of a line: its size and whether it is
// non-synchronizing ("{n+}"); size -1 when there is none.
struct LiteralMark {
    int64_t size = -1;
    bool non_sync = false;
    bool binary = false; // literal8 "~{n}" (RFC 3516)
    size_t start = 0;    // where the mark starts in the line
};
LiteralMark literal_at_end(std::string_view line);

// A quoted string when `s` can be one (no CR, LF, NUL, 8-bit unless
// `utf8`: UTF8=ACCEPT, IMAP4rev2), else a literal "{n}\r\n" + s. Quotes and
// backslashes are escaped.
std::string string_value(std::string_view s, bool utf8 = false);
// NIL for an empty optional value, else string_value.
std::string nstring(std::string_view s, bool present);

// INTERNALDATE ("17-Jul-1996 02:44:25 -0700") -> Unix time; 0 when malformed.
int64_t parse_internal_date(std::string_view s);
// Unix time -> the quoted date-time of INTERNALDATE, in UTC.
std::string format_internal_date(int64_t t);

// "1:3,5,7:8" from an ascending list of UIDs (or sequence numbers).
std::string uid_set(const std::vector<int64_t>& uids);

} // namespace mail::imap
