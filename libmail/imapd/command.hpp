// The IMAP server's command parser (RFC 3501 section 9, RFC 9051): a
// command in wire form (its line and literals inline) becomes a tag, a
// name and its arguments; sequence sets and FETCH items get their own
// parsers. Pure and bounded; the session (still to come, issue 4) reads
// the wire form with the limits of the configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "imap/syntax.hpp"

namespace mail::imap {

struct Command {
    std::string tag;
    std::string name; // upper case; after "UID", the command it prefixes
    bool uid = false;
    std::vector<Value> args;
};

// Errors carry what the session needs to answer: a command whose tag was
// read gets "tag BAD ...", one without a valid tag "* BAD ...".
struct CommandError {
    std::string tag; // empty when no valid tag was read
    std::string text;
};
// The tag is 1*ATOM-CHAR without '+'; the name an atom of letters.
std::variant<Command, CommandError> parse_command(std::string_view wire);

// A sequence set (RFC 3501 seq-number / seq-range, "*" as 0 until resolved).
struct SequenceSet {
    std::vector<std::pair<uint32_t, uint32_t>> ranges; // as written; 0 = "*"
    bool saved = false;                                 // "$" (SEARCHRES, RFC 5182)
    // Whether `n` is in the set when "*" means `largest`.
    bool contains(uint32_t n, uint32_t largest) const;
};
Result<SequenceSet> parse_sequence_set(std::string_view text);

// One FETCH data item.
struct Section {
    std::vector<uint32_t> part;      // "1.2" -> {1, 2}; empty: the message
    std::string text;                // "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
    std::vector<std::string> fields; // for HEADER.FIELDS (.NOT), upper case
};
struct FetchItem {
    enum class Kind {
        flags, uid, internaldate, rfc822_size, envelope, bodystructure, body, // BODY without section
        body_section, binary, binary_size, rfc822, rfc822_header, rfc822_text, modseq
    } kind;
    Section section;  // body_section, binary, binary_size
    bool peek = false; // BODY.PEEK, BINARY.PEEK: \Seen not set
    std::optional<std::pair<uint64_t, uint64_t>> partial; // <offset.length>
    std::string name() const; // as the response names it ("BODY[1.HEADER]<0>")
};
// The items of FETCH: one atom (or a macro: ALL, FAST, FULL) or a list.
Result<std::vector<FetchItem>> parse_fetch_items(const Value& v);

} // namespace mail::imap
