#include "mime.hpp"

#include <cerrno>
#include <iconv.h>

#include <fmt/format.h>
#include <random>

#include "base/encoding.hpp"
#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::mime {

namespace {

bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; k++)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += n;
    }
    return true;
}

} // namespace

std::string to_utf8(std::string_view text, std::string_view charset) {
    std::string cs = ascii_lower(charset);
    if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii") {
        if (valid_utf8(text)) return std::string(text);
        cs = "windows-1252";
    }
    iconv_t cd = iconv_open("UTF-8", cs.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) {
        if (valid_utf8(text)) return std::string(text);
        cd = iconv_open("UTF-8", "WINDOWS-1252");
        if (cd == reinterpret_cast<iconv_t>(-1)) return std::string(text);
    }
    std::string out;
    out.resize(text.size() * 2 + 16);
    char* in = const_cast<char*>(text.data());
    size_t in_left = text.size(), done = 0;
    while (in_left > 0) {
        char* o = out.data() + done;
        size_t o_left = out.size() - done;
        size_t r = iconv(cd, &in, &in_left, &o, &o_left);
        done = out.size() - o_left;
        if (r != static_cast<size_t>(-1)) break;
        if (errno == E2BIG) {
            out.resize(out.size() * 2);
        } else { // an invalid or cut sequence: one byte becomes U+FFFD
            if (out.size() - done < 3) out.resize(out.size() * 2);
            out.replace(done, 3, "\xEF\xBF\xBD");
            done += 3;
            in++, in_left--;
        }
    }
    iconv_close(cd);
    out.resize(done);
    return out;
}

std::string decode_words(std::string_view raw) {
    std::string v = unfold(raw), out;
    std::string pending_space; // white space after an encoded word
    bool last_encoded = false;
    for (size_t i = 0; i < v.size();) {
        if (v.compare(i, 2, "=?") == 0) {
            size_t q1 = v.find('?', i + 2);
            size_t q2 = q1 == std::string::npos ? q1 : v.find('?', q1 + 1);
            size_t end = q2 == std::string::npos ? q2 : v.find("?=", q2 + 1);
            if (end != std::string::npos && q2 == q1 + 2) {
                std::string charset = v.substr(i + 2, q1 - i - 2);
                if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star); // RFC 2231 language
                char enc = static_cast<char>(v[q1 + 1] | 0x20);
                std::string_view text = std::string_view(v).substr(q2 + 1, end - q2 - 1);
                std::string bytes;
                if (enc == 'b') bytes = base64_decode_body(text);
                else if (enc == 'q') {
                    for (size_t k = 0; k < text.size(); k++) {
                        if (text[k] == '_') bytes += ' ';
                        else if (text[k] == '=' && k + 2 < text.size() + 0 && isxdigit(static_cast<unsigned char>(text[k + 1])) &&
                                 isxdigit(static_cast<unsigned char>(text[k + 2]))) {
                            bytes += static_cast<char>(std::stoi(std::string(text.substr(k + 1, 2)), nullptr, 16));
                            k += 2;
                        } else bytes += text[k];
                    }
                }
                if (enc == 'b' || enc == 'q') {
                    if (!last_encoded) out += pending_space;
                    pending_space.clear();
                    out += to_utf8(bytes, charset);
                    last_encoded = true;
                    i = end + 2;
                    continue;
                }
            }
        }
        if (v[i] == ' ' || v[i] == '\t') {
            pending_space += v[i++];
            continue;
        }
        out += pending_space;
        pending_space.clear();
        last_encoded = false;
        out += v[i++];
    }
    return out + pending_space;
}

namespace {

bool tspecial(char c) { return std::string_view("()<>@,;:\\\"/[]?= \t").find(c) != std::string_view::npos; }

bool ascii_printable(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

std::string quoted(std::string_view v) {
    bool plain = !v.empty();
    for (char c : v) plain = plain && !tspecial(c) && static_cast<unsigned char>(c) > 0x20;
    if (plain) return std::string(v);
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string boundary() {
    static std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("=_facteur_{:016x}", rng());
}

const char hex[] = "0123456789ABCDEF";

} // namespace

bool has_8bit(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return true;
    return false;
}

std::string ContentType::str() const {
    std::string s = type + "/" + subtype;
    for (auto& [k, v] : params) s += "; " + k + "=" + quoted(v);
    return s;
}

ContentType parse_content_type(std::string_view raw) {
    std::string v = unfold(raw);
    ContentType ct;
    size_t i = 0;
    auto skip = [&] {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) i++;
    };
    auto token = [&] {
        skip();
        size_t b = i;
        while (i < v.size() && !tspecial(v[i]) && static_cast<unsigned char>(v[i]) > 0x20) i++;
        return ascii_lower(std::string_view(v).substr(b, i - b));
    };
    std::string type = token();
    skip();
    if (i >= v.size() || v[i] != '/') return ct;
    i++;
    std::string sub = token();
    if (type.empty() || sub.empty()) return ct;
    ct.type = type, ct.subtype = sub;
    for (;;) {
        skip();
        if (i >= v.size() || v[i] != ';') break;
        i++;
        std::string name = token();
        skip();
        if (name.empty() || i >= v.size() || v[i] != '=') continue;
        i++;
        skip();
        std::string value;
        if (i < v.size() && v[i] == '"') {
            for (i++; i < v.size() && v[i] != '"'; i++) {
                if (v[i] == '\\' && i + 1 < v.size()) i++;
                value += v[i];
            }
            i++;
        } else {
            size_t b = i;
            while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t') i++;
            value = v.substr(b, i - b);
        }
        ct.params.emplace(name, value);
    }
    return ct;
}

std::string base64_lines(std::string_view data) {
    std::string b = base64_encode(data), out;
    out.reserve(b.size() + b.size() / 76 + 1);
    for (size_t i = 0; i < b.size(); i += 76) out.append(b, i, 76).push_back('\n');
    return out;
}

std::string base64_decode_body(std::string_view text) {
    static const std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        size_t v = alphabet.find(c);
        if (v == std::string_view::npos) continue;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::string qp_encode(std::string_view text) {
    std::string out;
    size_t col = 0;
    auto put = [&](std::string_view s) {
        if (col + s.size() > 75) {
            out += "=\n";
            col = 0;
        }
        out += s;
        col += s.size();
    };
    for (size_t i = 0; i < text.size(); i++) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        bool line_end = i + 1 == text.size() || text[i + 1] == '\n';
        // A line of the output that starts with "--" could be read as a
        // multipart delimiter (a soft break can move "--boundary" from the
        // middle of a line to its start: found by fuzz_signature; and "-- "
        // is written "--=20", a delimiter of boundary "=20"), so its first
        // '-' is encoded.
        if (c == '-' && text.substr(i).starts_with("--") && (col == 0 || col + 1 > 75)) {
            put("=2D");
            continue;
        }
        if (c == '\n') {
            out += '\n';
            col = 0;
        } else if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end)) {
            // A '.' or "From " at the start of a line is left alone: LF
            // queue files are dot-stuffed by the SMTP client.
            char ch = static_cast<char>(c);
            put(std::string_view(&ch, 1));
        } else {
            char e[3] = {'=', hex[c >> 4], hex[c & 15]};
            put(std::string_view(e, 3));
        }
    }
    return out;
}

std::string qp_decode(std::string_view text) {
    std::string out;
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (c != '=') {
            // trailing white space before a line end is transport padding
            if ((c == ' ' || c == '\t')) {
                size_t j = i;
                while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) j++;
                if (j == text.size() || text[j] == '\n' || text[j] == '\r') {
                    i = j - 1;
                    continue;
                }
            }
            out += c;
            continue;
        }
        size_t j = i + 1;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) j++;
        if (j < text.size() && (text[j] == '\n' || text[j] == '\r')) { // soft break
            if (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') j++;
            i = j;
            continue;
        }
        if (j == text.size()) break;
        if (i + 2 < text.size() && val(text[i + 1]) >= 0 && val(text[i + 2]) >= 0) {
            out += static_cast<char>(val(text[i + 1]) * 16 + val(text[i + 2]));
            i += 2;
        } else {
            out += '=';
        }
    }
    return out;
}

std::string encode_text(std::string_view utf8) {
    std::string clean = header_safe(utf8);
    if (ascii_printable(clean)) return clean;
    // Encoded words of at most 75 characters, split between UTF-8
    // characters (RFC 2047 5), one per folded line.
    std::string out;
    size_t i = 0;
    while (i < clean.size()) {
        size_t n = 0, take = 0;
        while (i + take < clean.size()) {
            size_t len = 1;
            unsigned char c = static_cast<unsigned char>(clean[i + take]);
            if (c >= 0xf0) len = 4;
            else if (c >= 0xe0) len = 3;
            else if (c >= 0xc0) len = 2;
            if ((take + len + 2) / 3 * 4 > 75 - 12) break;
            take += len;
            n++;
        }
        if (take == 0) take = 1;
        if (!out.empty()) out += "\n ";
        out += "=?UTF-8?B?" + base64_encode(std::string_view(clean).substr(i, take)) + "?=";
        i += take;
    }
    return out;
}

std::string format_mailbox(std::string_view name, std::string_view address) {
    std::string n = header_safe(name);
    if (n.empty()) return std::string(address);
    if (!ascii_printable(n)) return encode_text(n) + " <" + std::string(address) + ">";
    bool atoms = true;
    for (char c : n) atoms = atoms && (isalnum(static_cast<unsigned char>(c)) || c == ' ' ||
                                       std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos);
    if (atoms) return n + " <" + std::string(address) + ">";
    std::string q = "\"";
    for (char c : n) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\" <" + std::string(address) + ">";
}

std::string filename_param(std::string_view utf8_name) {
    std::string name = header_safe(utf8_name);
    if (ascii_printable(name)) {
        std::string q = "filename=\"";
        for (char c : name) {
            if (c == '"' || c == '\\') q += '\\';
            q += c;
        }
        return q + "\"";
    }
    std::string out = "filename*=utf-8''";
    for (unsigned char c : name) {
        if (isalnum(c) || std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::string media_type_for(std::string_view filename) {
    static const std::map<std::string, std::string> types = {
        {"pdf", "application/pdf"}, {"txt", "text/plain"}, {"csv", "text/csv"},
        {"html", "text/html"}, {"htm", "text/html"}, {"xml", "application/xml"},
        {"json", "application/json"}, {"zip", "application/zip"}, {"gz", "application/gzip"},
        {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
        {"svg", "image/svg+xml"}, {"webp", "image/webp"}, {"ics", "text/calendar"},
        {"doc", "application/msword"}, {"xls", "application/vnd.ms-excel"},
        {"ppt", "application/vnd.ms-powerpoint"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {"odt", "application/vnd.oasis.opendocument.text"},
        {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
        {"eml", "message/rfc822"}, {"mp3", "audio/mpeg"}, {"mp4", "video/mp4"}};
    size_t dot = filename.rfind('.');
    if (dot == std::string_view::npos) return "application/octet-stream";
    auto it = types.find(ascii_lower(filename.substr(dot + 1)));
    return it == types.end() ? "application/octet-stream" : it->second;
}

std::string header_safe(std::string_view value) {
    std::string out;
    for (char c : value) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '\t' || u >= 0x20) out += u == 0x7f ? ' ' : c;
        else if (c == '\r' || c == '\n') out += ' ';
    }
    return out;
}

std::string text_part(std::string_view subtype, std::string_view utf8) {
    bool seven = true;
    size_t col = 0;
    for (char c : utf8) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '\n') {
            col = 0;
            continue;
        }
        if (u >= 0x80 || (u < 0x20 && c != '\t') || ++col > 76) seven = false;
    }
    std::string body(utf8);
    if (!body.empty() && body.back() != '\n') body += '\n';
    std::string head = fmt::format("Content-Type: text/{}; charset={}\n", subtype, seven ? "us-ascii" : "utf-8");
    if (seven) return head + "Content-Transfer-Encoding: 7bit\n\n" + body;
    return head + "Content-Transfer-Encoding: quoted-printable\n\n" + qp_encode(body);
}

std::string build(const Message& m) {
    std::string out;
    for (auto& [name, value] : m.headers) out += name + ": " + value + "\n";
    out += "MIME-Version: 1.0\n";
    std::string body;
    if (m.html.empty()) {
        body = text_part("plain", m.text);
    } else {
        std::string b = boundary();
        body = "Content-Type: multipart/alternative; boundary=\"" + b + "\"\n\n--" + b + "\n" +
               text_part("plain", m.text) + "\n--" + b + "\n" + text_part("html", m.html) + "\n--" + b + "--\n";
    }
    if (m.attachments.empty()) return out + body;
    std::string b = boundary();
    out += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\n\nThis is a multipart message in MIME format.\n\n--" +
           b + "\n" + body;
    for (auto& a : m.attachments) {
        std::string type = a.media_type.empty() ? media_type_for(a.filename) : a.media_type;
        out += "\n--" + b + "\nContent-Type: " + type + "\nContent-Disposition: attachment;\n " +
               filename_param(a.filename) + "\nContent-Transfer-Encoding: base64\n\n" + base64_lines(a.data);
    }
    return out + "\n--" + b + "--\n";
}

Entity split_entity(std::string_view e) {
    if (e.starts_with("\n")) return {e.substr(0, 0), e.substr(1)};
    size_t end = e.find("\n\n");
    if (end == std::string_view::npos) return {e, e.substr(e.size())};
    return {e.substr(0, end + 1), e.substr(end + 2)};
}

std::string replace_content_fields(std::string_view header, const std::string& ct, const std::string& cte) {
    std::string block = std::string(header) + "\n"; // the fields point into it
    auto h = parse_header(block, block.size());
    std::string out;
    if (h)
        for (auto& f : h->fields)
            if (!iequals(f.name, "Content-Type") && !iequals(f.name, "Content-Transfer-Encoding"))
                out += std::string(f.name) + ":" + std::string(f.value) + "\n";
    return out + "Content-Type: " + ct + "\nContent-Transfer-Encoding: " + cte + "\n";
}

std::vector<std::pair<size_t, size_t>> multipart_parts(std::string_view body, const std::string& b) {
    std::string delim = "--" + b;
    std::vector<size_t> starts; // offsets of the delimiter lines
    size_t close = std::string_view::npos;
    for (size_t pos = 0; pos < body.size();) {
        size_t nl = body.find('\n', pos);
        std::string_view line = body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        if (line == delim) starts.push_back(pos);
        else if (line == delim + "--") {
            close = pos;
            break;
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    std::vector<std::pair<size_t, size_t>> parts;
    if (starts.empty() || close == std::string_view::npos) return parts;
    for (size_t i = 0; i < starts.size(); i++) {
        size_t begin = body.find('\n', starts[i]) + 1;
        size_t end = i + 1 < starts.size() ? starts[i + 1] : close;
        if (end > begin && body[end - 1] == '\n') end--; // the line end belongs to the delimiter
        parts.emplace_back(begin, std::max(begin, end));
    }
    return parts;
}

namespace {

std::optional<std::string> downgrade(std::string_view e, int depth) {
    if (depth > 20) return std::nullopt;
    Entity ent = split_entity(e);
    if (has_8bit(ent.header)) return std::nullopt; // would need SMTPUTF8 or RFC 2047: not ours to guess
    if (!has_8bit(ent.body)) return std::string(e);
    std::string block = std::string(ent.header) + "\n";
    auto h = parse_header(block, block.size());
    if (!h) return std::nullopt;
    auto raw = h->get("Content-Type");
    ContentType ct = raw ? parse_content_type(*raw) : ContentType{};
    std::string cte = ascii_lower(unfold(h->get("Content-Transfer-Encoding").value_or("7bit")));
    if (ct.is("multipart")) {
        auto parts = multipart_parts(ent.body, ct.param("boundary"));
        if (parts.empty()) return std::nullopt;
        std::string body(ent.body);
        for (size_t i = parts.size(); i-- > 0;) {
            auto [begin, end] = parts[i];
            auto r = downgrade(ent.body.substr(begin, end - begin), depth + 1);
            if (!r) return std::nullopt;
            if (!r->empty() && r->back() == '\n' && (end == begin || ent.body[end - 1] != '\n')) r->pop_back();
            body.replace(begin, end - begin, *r);
        }
        if (has_8bit(body)) return std::nullopt; // 8-bit preamble or epilogue
        return std::string(ent.header) + "\n" + body;
    }
    if (ct.is("message", "rfc822")) {
        auto inner = downgrade(ent.body, depth + 1);
        if (!inner) return std::nullopt;
        return replace_content_fields(ent.header, raw ? unfold(*raw) : "message/rfc822", "7bit") + "\n" + *inner;
    }
    if (cte != "7bit" && cte != "8bit" && cte != "binary") return std::nullopt; // encoded, yet 8-bit: broken
    std::string type = raw ? unfold(*raw) : "text/plain; charset=utf-8"; // unlabelled 8-bit: most likely UTF-8
    if (ct.is("text")) return replace_content_fields(ent.header, type, "quoted-printable") + "\n" + qp_encode(ent.body);
    return replace_content_fields(ent.header, type, "base64") + "\n" + base64_lines(ent.body);
}

} // namespace

std::optional<std::string> downgrade_to_7bit(std::string_view message) {
    auto r = downgrade(message, 0);
    if (!r || *r == message) return r;
    // Content-Transfer-Encoding means something only under MIME-Version.
    Entity top = split_entity(*r);
    std::string block = std::string(top.header) + "\n";
    auto h = parse_header(block, block.size());
    if (h && !h->get("MIME-Version")) r->insert(top.header.size(), "MIME-Version: 1.0\n");
    return r;
}

} // namespace mail::mime
