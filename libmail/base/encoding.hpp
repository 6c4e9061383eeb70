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

// The same, streaming: a CR at the end of one piece is held until the next
// shows whether an LF follows (BDAT chunks and IMAP literals split CRLFs).
class CrlfFilter {
  public:
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out); // a CR left at the very end
    // Bare CRs and bare LFs seen: what LF line ends cannot give back as
    // they came (RFC 3516 binary content).
    size_t bare() const { return bare_; }

  private:
    bool cr_ = false;
    size_t bare_ = 0;
};

} // namespace mail
