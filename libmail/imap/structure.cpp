#include "structure.hpp"

#include <algorithm>
#include <cstring>

#include "imap/envelope.hpp"
#include "imap/syntax.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"

namespace mail::imap {

namespace {

constexpr int max_depth = 50;
constexpr size_t max_parts = 10000;

// Line feeds in s, by memchr (vectorised; std::count is not at -O2).
int64_t count_lf(std::string_view s) {
    int64_t n = 0;
    for (const char *p = s.data(), *end = p + s.size(); (p = static_cast<const char*>(memchr(p, '\n', end - p))); p++) n++;
    return n;
}

int64_t crlf_size(std::string_view s) { return static_cast<int64_t>(s.size()) + count_lf(s); }

int64_t lines(std::string_view s) {
    int64_t n = count_lf(s);
    if (!s.empty() && s.back() != '\n') n++;
    return n;
}

std::string params(const mime::ContentType& ct) {
    if (ct.params.empty()) return "NIL";
    std::string out = "(";
    for (auto& [k, v] : ct.params) out += (out.size() > 1 ? " " : "") + string_value(k) + " " + string_value(v);
    return out + ")";
}

std::string disposition(const Header& h) {
    auto d = h.get("Content-Disposition");
    if (!d) return "NIL";
    std::string v = unfold(*d);
    size_t semi = v.find(';');
    std::string kind = ascii_lower(v.substr(0, semi));
    while (!kind.empty() && (kind.back() == ' ' || kind.back() == '\t')) kind.pop_back();
    while (!kind.empty() && (kind.front() == ' ' || kind.front() == '\t')) kind.erase(kind.begin());
    if (kind.empty()) return "NIL";
    auto p = mime::parse_content_type("x/y" + (semi == std::string::npos ? std::string() : v.substr(semi)));
    return "(" + string_value(kind) + " " + params(p) + ")";
}

// BODY and BODYSTRUCTURE built together from one parse of the message:
// the same text but for the extension data BODYSTRUCTURE adds.
struct Both {
    std::string body, full;
    void add(std::string_view s) { body += s, full += s; }
    void add(const Both& b) { body += b.body, full += b.full; }
};

class Builder {
  public:
    Both entity(std::string_view e, int depth, bool digest_child) {
        parts_++;
        auto ent = mime::split_entity(e);
        auto parsed = parse_header(ent.header);
        Header h = parsed ? *parsed : Header{};
        auto ctv = h.get("Content-Type");
        mime::ContentType ct;
        if (ctv) ct = mime::parse_content_type(*ctv);
        else if (digest_child) ct.type = "message", ct.subtype = "rfc822";
        else ct.params["charset"] = "us-ascii";
        bool deeper = depth < max_depth && parts_ < max_parts;
        Both out;
        if (ct.type == "multipart" && deeper) {
            auto list = mime::multipart_parts(ent.body, ct.param("boundary"));
            if (!list.empty()) {
                out.add("(");
                for (auto [b, en] : list) {
                    if (parts_ >= max_parts) break;
                    out.add(entity(ent.body.substr(b, en - b), depth + 1, ct.subtype == "digest"));
                }
                out.add(" " + string_value(ct.subtype));
                out.full += " " + params(ct) + " " + disposition(h) + " " + field_nstring(h, "Content-Language") + " " +
                            field_nstring(h, "Content-Location");
                out.add(")");
                return out;
            }
            ct = mime::ContentType{}; // a multipart without parts: plain text
        }
        if (ct.type == "multipart") ct = mime::ContentType{};
        // Past the limits an enclosed message is described as opaque data.
        if (ct.is("message", "rfc822") && !deeper) ct.type = "application", ct.subtype = "octet-stream";
        auto cte = h.get("Content-Transfer-Encoding");
        out.add("(" + string_value(ct.type) + " " + string_value(ct.subtype) + " " + params(ct) + " " +
                field_nstring(h, "Content-ID") + " " + field_nstring(h, "Content-Description") + " " +
                string_value(cte ? ascii_lower(unfold(*cte)) : "7bit") + " " + std::to_string(crlf_size(ent.body)));
        if (ct.is("message", "rfc822") && deeper) {
            auto inner = parse_header(ent.body);
            out.add(" " + (inner ? envelope(*inner) : envelope(Header{})) + " ");
            out.add(entity(ent.body, depth + 1, false));
            out.add(" " + std::to_string(lines(ent.body)));
        } else if (ct.type == "text") {
            out.add(" " + std::to_string(lines(ent.body)));
        }
        out.full += " " + field_nstring(h, "Content-MD5") + " " + disposition(h) + " " +
                    field_nstring(h, "Content-Language") + " " + field_nstring(h, "Content-Location");
        out.add(")");
        return out;
    }

  private:
    size_t parts_ = 0;
};

} // namespace

std::string body_structure(std::string_view message, bool extended) {
    Both b = Builder().entity(message, 0, false);
    return extended ? b.full : b.body;
}

void body_structures(std::string_view message, std::string& body, std::string& bodystructure) {
    Both b = Builder().entity(message, 0, false);
    body = std::move(b.body);
    bodystructure = std::move(b.full);
}

} // namespace mail::imap
