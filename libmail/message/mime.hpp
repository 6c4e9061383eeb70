// MIME (RFC 2045-2047, 2231): the encodings, Content-Type parsing, and the
// builder that writes the messages the system makes for people (mail-send,
// auto-replies). Pure: text in, text out; LF line ends.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::mime {

struct ContentType {
    std::string type = "text", subtype = "plain"; // lower case
    std::map<std::string, std::string> params;     // names in lower case
    bool is(std::string_view t, std::string_view s = "") const {
        return type == t && (s.empty() || subtype == s);
    }
    std::string param(const std::string& name) const {
        auto it = params.find(name);
        return it == params.end() ? "" : it->second;
    }
    std::string str() const; // "text/plain; charset=utf-8", quoting as needed
};
// A missing or unreadable value gives text/plain.
ContentType parse_content_type(std::string_view value);

// Text in `charset` as UTF-8 (through iconv; bytes it cannot convert
// become U+FFFD). An empty or unknown charset: kept as it is when it is
// valid UTF-8, else read as windows-1252.
std::string to_utf8(std::string_view text, std::string_view charset);
// An unstructured header value with its RFC 2047 encoded words decoded to
// UTF-8 (white space between two encoded words dropped), unfolded.
std::string decode_words(std::string_view value);

// Base64 in lines of 76 characters, each ending in LF.
std::string base64_lines(std::string_view data);
// Lenient: whitespace and anything outside the alphabet skipped.
std::string base64_decode_body(std::string_view text);
// Quoted-printable (RFC 2045 6.7) of text with LF line ends: lines stay
// lines, long ones get soft breaks, trailing white space is encoded.
std::string qp_encode(std::string_view text);
std::string qp_decode(std::string_view text);

// A header value for unstructured text (Subject): as it is when printable
// ASCII, else RFC 2047 encoded words (UTF-8, B), folded.
std::string encode_text(std::string_view utf8);
// "Name <address>" with the display name quoted or encoded as needed.
std::string format_mailbox(std::string_view name, std::string_view address);
// The filename parameter: filename="x" for ASCII, RFC 2231 filename*= else.
std::string filename_param(std::string_view utf8_name);
// The media type of a file from its extension (application/octet-stream
// when unknown).
std::string media_type_for(std::string_view filename);
// Whether any byte is outside 7-bit ASCII.
bool has_8bit(std::string_view s);
// Characters that may not appear in a header value: CR, LF, NUL (and the
// other control characters but TAB) removed.
std::string header_safe(std::string_view value);

// One entity (a message or a body part): its header block, ending with
// its last field's LF, and its body.
struct Entity {
    std::string_view header, body;
};
Entity split_entity(std::string_view e);
// The header block with Content-Type and Content-Transfer-Encoding
// replaced by `ct` and `cte` (placed at the end of the block).
std::string replace_content_fields(std::string_view header, const std::string& ct, const std::string& cte);
// The parts of a multipart body with boundary `b`: [begin, end) offsets of
// each part's content, without the delimiter lines and the line end before
// them. Empty when the structure is broken (no part, no closing line).
std::vector<std::pair<size_t, size_t>> multipart_parts(std::string_view body, const std::string& b);

// The message converted to 7-bit for a server without 8BITMIME (RFC 6152
// 3): every 8-bit part becomes quoted-printable (text) or base64, through
// multiparts and message/rfc822. nullopt when the header itself (of the
// message or a part) has 8-bit bytes, or the structure is too deep.
std::optional<std::string> downgrade_to_7bit(std::string_view message);

struct Attachment {
    std::string filename; // UTF-8
    std::string media_type;
    std::string data;
};

struct Message {
    std::vector<std::pair<std::string, std::string>> headers; // values ready (encoded)
    std::string text;                                         // UTF-8, LF
    std::string html;                                         // optional
    std::vector<Attachment> attachments;
};

// The whole message (LF line ends): the headers, MIME-Version, and the
// body as text/plain, multipart/alternative (text + html) and, with
// attachments, multipart/mixed around them.
std::string build(const Message& m);

// A text body part's header and encoded body for UTF-8 text: 7bit when it
// is ASCII with short lines, quoted-printable otherwise.
std::string text_part(std::string_view subtype, std::string_view utf8);

} // namespace mail::mime
