// Byte encodings that every layer needs and that touch nothing else:
// base64 (SASL, MIME, DKIM) and the one CRLF-to-LF filter (the store keeps
// LF line ends, the wire has CRLF).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mail {

std::string base64_encode(std::string_view in);
// Strict: only the base64 alphabet, correct padding and the canonical
// form (no stray bits before the padding); "=" alone is "".
std::optional<std::string> base64_decode(std::string_view in);

// "\r\n" -> "\n" in place; bare CR and bare LF stay as they are.
// Returns the new length.
size_t crlf_to_lf(char* data, size_t size);

} // namespace mail
