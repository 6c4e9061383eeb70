#include "message.hpp"

#include <algorithm>
#include <sys/mman.h>
#include <sys/stat.h>

#include "imap/envelope.hpp"
#include "imap/structure.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"

namespace mail::imap {

Result<MappedFile> MappedFile::open(int fd, const std::string& name) {
    struct stat st;
    if (fstat(fd, &st) != 0) return sys_error("fstat", name);
    if (st.st_size == 0) return MappedFile(nullptr, 0);
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return sys_error("mmap", name);
    return MappedFile(static_cast<const char*>(p), static_cast<size_t>(st.st_size));
}

MappedFile::~MappedFile() {
    if (data_) munmap(const_cast<char*>(data_), size_);
}

uint64_t crlf_size(std::string_view s) {
    uint64_t n = s.size();
    for (size_t i = 0; (i = s.find('\n', i)) != std::string_view::npos; i++)
        if (i == 0 || s[i - 1] != '\r') n++;
    return n;
}

void append_crlf(std::string_view s, std::string& out, bool& prev_cr) {
    size_t start = 0;
    for (size_t i = 0; (i = s.find('\n', i)) != std::string_view::npos; i++) {
        bool cr = i > 0 ? s[i - 1] == '\r' : prev_cr;
        if (cr) continue;
        out.append(s.substr(start, i - start));
        out += "\r\n";
        start = i + 1;
    }
    out.append(s.substr(start));
    if (!s.empty()) prev_cr = s.back() == '\r';
}

std::string_view crlf_slice(std::string_view s, uint64_t offset, uint64_t length, std::string& storage) {
    bool has_bare_lf = false;
    for (size_t i = 0; (i = s.find('\n', i)) != std::string_view::npos && !has_bare_lf; i++)
        has_bare_lf = i == 0 || s[i - 1] != '\r';
    if (!has_bare_lf) {
        if (offset >= s.size()) return {};
        return s.substr(offset, length);
    }
    // Walk the CRLF form without building it whole: only the slice is kept.
    storage.clear();
    uint64_t pos = 0; // position in the CRLF form
    for (size_t i = 0; i < s.size() && storage.size() < length; i++) {
        bool bare = s[i] == '\n' && (i == 0 || s[i - 1] != '\r');
        if (bare) {
            if (pos >= offset && storage.size() < length) storage += '\r';
            pos++;
        }
        if (pos >= offset && storage.size() < length) storage += s[i];
        pos++;
        if (pos < offset && !bare) {
            // skip ahead quickly to the next LF while still before the slice
            size_t nl = s.find('\n', i + 1);
            size_t stop = nl == std::string_view::npos ? s.size() : nl;
            uint64_t jump = std::min<uint64_t>(stop - (i + 1), offset - pos);
            pos += jump;
            i += jump;
        }
    }
    return storage;
}

namespace {

constexpr int max_depth = 50;

mime::ContentType content_type(const Header& h, bool digest_child) {
    auto v = h.get("Content-Type");
    if (v) return mime::parse_content_type(*v);
    mime::ContentType ct;
    if (digest_child) ct.type = "message", ct.subtype = "rfc822";
    return ct;
}

Header header_of(std::string_view entity) {
    auto ent = mime::split_entity(entity);
    auto h = parse_header(ent.header, ent.header.size() + 1);
    return h ? *h : Header{};
}

// The entity a part number names: the whole message for no number; for
// a part of a single-part message, the message itself.
struct Found {
    std::string_view entity;
    bool is_message = false; // a message/rfc822 part (or the top message)
};

std::optional<Found> find_part(std::string_view msg, const std::vector<uint32_t>& path) {
    if (path.size() > max_depth) return std::nullopt;
    Found cur{msg, true};
    std::string_view context = msg; // the message or multipart the next number indexes
    for (size_t i = 0; i < path.size(); i++) {
        uint32_t k = path[i];
        auto ct = content_type(header_of(context), false);
        mime::ContentType part_ct = ct;
        std::string_view part = context; // part 1 of a single-part message: the message
        if (ct.is("multipart")) {
            auto body = mime::split_entity(context).body;
            auto parts = mime::multipart_parts(body, ct.param("boundary"));
            if (parts.empty() && k == 1) {
                part_ct = mime::ContentType{}; // a broken multipart is one text part
            } else {
                if (k == 0 || k > parts.size()) return std::nullopt;
                auto [b, e] = parts[k - 1];
                part = body.substr(b, e - b);
                part_ct = content_type(header_of(part), ct.subtype == "digest");
            }
        } else if (k != 1) {
            return std::nullopt;
        }
        cur = {part, part_ct.is("message", "rfc822")};
        if (i + 1 == path.size()) break;
        if (cur.is_message) context = mime::split_entity(part).body; // the enclosed message
        else if (part_ct.is("multipart") && part.data() != context.data()) context = part;
        else return std::nullopt; // a leaf has no sub-parts
    }
    return cur;
}

std::string header_fields(std::string_view header_block, const Section& s) {
    std::string block(header_block);
    block += '\n';
    auto h = parse_header(block, block.size() + 1);
    std::string out;
    if (h) {
        bool not_ = s.text == "HEADER.FIELDS.NOT";
        for (auto& f : h->fields) {
            bool listed = std::any_of(s.fields.begin(), s.fields.end(),
                                      [&](const std::string& n) { return iequals(n, f.name); });
            if (listed != not_) {
                out.append(f.name);
                out += ':';
                out.append(f.value);
                out += '\n';
            }
        }
    }
    return out + "\n";
}

} // namespace

std::optional<std::string_view> section_text(std::string_view msg, const Section& s, std::string& storage) {
    auto found = find_part(msg, s.part);
    if (!found) return std::nullopt;
    std::string_view e = found->entity;
    if (s.text == "MIME") {
        if (s.part.empty()) return std::nullopt;
        auto ent = mime::split_entity(e);
        // the header block and the blank line after it
        return e.substr(0, std::min(e.size(), ent.header.size() + 1));
    }
    if (s.text.empty()) {
        if (s.part.empty()) return e;
        return mime::split_entity(e).body;
    }
    // HEADER, HEADER.FIELDS (.NOT), TEXT: of the message, or of the message
    // a message/rfc822 part encloses
    std::string_view m = e;
    if (!s.part.empty()) {
        if (!found->is_message) return std::nullopt;
        m = mime::split_entity(e).body;
    }
    auto ent = mime::split_entity(m);
    if (s.text == "TEXT") return ent.body;
    if (s.text == "HEADER") return m.substr(0, std::min(m.size(), ent.header.size() + 1));
    storage = header_fields(ent.header, s);
    return std::string_view(storage);
}

std::optional<std::string> binary_text(std::string_view msg, const Section& s, bool& unknown_cte) {
    unknown_cte = false;
    // BINARY sections are part numbers only: the part is found once, for
    // its body and for its Content-Transfer-Encoding.
    auto found = find_part(msg, s.part);
    if (!found) return std::nullopt;
    std::string_view text = found->entity; // the whole message: as it is
    std::string cte = "7bit";
    if (!s.part.empty()) {
        text = mime::split_entity(found->entity).body;
        cte = ascii_lower(unfold(header_of(found->entity).get("Content-Transfer-Encoding").value_or("7bit")));
    }
    if (cte == "base64") return mime::base64_decode_body(text);
    if (cte != "quoted-printable" && cte != "7bit" && cte != "8bit" && cte != "binary") {
        unknown_cte = true;
        return std::nullopt;
    }
    // The canonical form has CRLF line ends; quoted-printable is decoded
    // from it, so that an encoded =0A stays a bare LF.
    std::string crlf;
    bool cr = false;
    append_crlf(text, crlf, cr);
    return cte == "quoted-printable" ? mime::qp_decode(crlf) : crlf;
}

CacheRow cache_row(std::string_view msg) {
    CacheRow r;
    r.size = crlf_size(msg);
    auto h = parse_header(msg);
    r.envelope = envelope(h ? *h : Header{});
    body_structures(msg, r.body, r.bodystructure);
    return r;
}

namespace {

class TextCollector {
  public:
    TextCollector(SearchText& out, size_t limit) : out_(out), limit_(limit) {}

    void header(std::string_view block, std::string& to) {
        std::string b(block);
        b += '\n';
        auto h = parse_header(b, b.size() + 1);
        if (!h) return;
        for (auto& f : h->fields) {
            if (to.size() > limit_) return;
            to.append(f.name);
            to += ": ";
            to += mime::decode_words(f.value);
            to += '\n';
        }
    }

    void entity(std::string_view e, int depth, bool digest_child) {
        if (out_.body.size() > limit_) return;
        if (depth > max_depth || parts_++ > 10000) { // past the limits: the rest as plain text
            out_.body += mime::to_utf8(e.substr(0, limit_ - out_.body.size()), "");
            return;
        }
        auto ent = mime::split_entity(e);
        Header h = header_of(e);
        auto ct = content_type(h, digest_child);
        if (ct.is("multipart")) {
            auto parts = mime::multipart_parts(ent.body, ct.param("boundary"));
            if (!parts.empty()) {
                for (auto [b, en] : parts) entity(ent.body.substr(b, en - b), depth + 1, ct.subtype == "digest");
                return;
            }
            ct = mime::ContentType{};
        }
        if (ct.is("message", "rfc822")) {
            auto inner = mime::split_entity(ent.body);
            header(inner.header, out_.body);
            entity(ent.body, depth + 1, false);
            return;
        }
        if (!ct.is("text")) return;
        std::string cte = ascii_lower(unfold(h.get("Content-Transfer-Encoding").value_or("7bit")));
        std::string_view body = ent.body.substr(0, std::min(ent.body.size(), limit_));
        std::string decoded = cte == "base64"             ? mime::base64_decode_body(body)
                              : cte == "quoted-printable" ? mime::qp_decode(body)
                                                          : std::string(body);
        out_.body += mime::to_utf8(decoded, ct.param("charset"));
        out_.body += '\n';
    }

  private:
    SearchText& out_;
    size_t limit_;
    size_t parts_ = 0;
};

} // namespace

SearchText search_text(std::string_view msg, size_t limit) {
    SearchText t;
    TextCollector c(t, limit);
    auto ent = mime::split_entity(msg);
    c.header(ent.header.substr(0, std::min(ent.header.size(), limit)), t.header);
    c.entity(msg, 0, false);
    if (t.body.size() > limit) t.body.resize(limit);
    return t;
}

std::string address_forms(std::string_view value) {
    std::string out;
    for (auto& a : read_address_list(value))
        if (a.kind == ListedAddress::Kind::mailbox) out += "\n" + a.local + (a.has_domain ? "@" + a.domain : "");
    return out;
}

} // namespace mail::imap
