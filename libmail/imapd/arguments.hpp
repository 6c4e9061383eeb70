// Argument checks that several groups of IMAP commands share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "imap/syntax.hpp"

namespace mail::imap {

// A mailbox name or other string argument: anything but a list.
inline bool is_name(const Value& v) { return v.kind != Value::Kind::list; }
// A mod-sequence value (RFC 7162: 0 to 2^63-1); nullopt when malformed.
std::optional<int64_t> mod_sequence(const Value& v);
// Whether folder `name` (stored form) exists in the mailbox at `root`.
bool folder_exists(const std::string& root, const std::string& name);
// APPEND's message as "UTF8 (~{n}" (RFC 6855): the text before the literal
// loses its "UTF8 (" (the ")" follows the literal); true when it had one.
bool strip_utf8_open(std::string& before);

} // namespace mail::imap
