#include "signature.hpp"

#include <iconv.h>
#include <vector>

#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"

namespace mail {

namespace {

constexpr int max_depth = 10;

std::string rtrim_lines(std::string_view s) {
    std::string out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t nl = s.find('\n', start);
        std::string_view line = s.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
        out += line;
        out += '\n';
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    while (!out.empty() && (out.back() == '\n')) out.pop_back();
    return out;
}

bool ends_with_text(std::string_view body, std::string_view sig) {
    std::string b = rtrim_lines(body), s = rtrim_lines(sig);
    return !s.empty() && b.size() >= s.size() && b.compare(b.size() - s.size(), s.size(), s) == 0;
}

std::optional<std::string> to_utf8(std::string_view text, const std::string& charset) {
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
    std::string out(text.size() * 4 + 16, '\0');
    char* in = const_cast<char*>(text.data());
    size_t in_left = text.size(), out_left = out.size();
    char* o = out.data();
    size_t r = iconv(cd, &in, &in_left, &o, &out_left);
    iconv_close(cd);
    if (r == static_cast<size_t>(-1)) return std::nullopt;
    out.resize(out.size() - out_left);
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '&') out += "&amp;";
        else if (c == '\n') out += "<br>\n";
        else out += c;
    }
    return out;
}

size_t find_ci_last(std::string_view hay, std::string_view needle) {
    std::string h = ascii_lower(hay);
    return h.rfind(ascii_lower(needle));
}

class Signer {
  public:
    explicit Signer(const Signature& s) : sig_(s) {}
    // The entity with the signature, or nullopt when unchanged.
    std::optional<std::string> entity(std::string_view e, int depth);

  private:
    std::optional<std::string> text(mime::Entity e, const mime::ContentType& ct, bool html);
    std::optional<std::string> multipart(mime::Entity e, const mime::ContentType& ct, int depth);
    std::string add_text(std::string body) const;
    std::optional<std::string> add_html(std::string body) const;
    const Signature& sig_;
};

std::optional<std::string> Signer::entity(std::string_view e, int depth) {
    if (depth > max_depth) return std::nullopt;
    mime::Entity ent = mime::split_entity(e);
    std::string block = std::string(ent.header) + "\n"; // the fields point into it
    auto h = parse_header(block, block.size());
    if (!h) return std::nullopt;
    auto raw = h->get("Content-Type");
    mime::ContentType ct = raw ? mime::parse_content_type(*raw) : mime::ContentType{};
    if (ct.is("text", "plain")) return text(ent, ct, false);
    if (ct.is("text", "html")) return text(ent, ct, true);
    if (ct.is("multipart") && ct.subtype != "signed" && ct.subtype != "encrypted")
        return multipart(ent, ct, depth);
    return std::nullopt; // application/pkcs7-mime, attachments, ...
}

std::string Signer::add_text(std::string body) const {
    auto line_end = [](std::string t) { return t.empty() || t.back() == '\n' ? t : t + "\n"; };
    std::string sig = sig_.text.empty() ? "" : "-- \n" + line_end(sig_.text);
    std::string dis = sig_.disclaimer_text.empty() ? "" : "\n" + line_end(sig_.disclaimer_text);
    // Already signed (what we add, or the signature alone): unchanged.
    if (ends_with_text(body, sig + dis)) return body;
    if (!sig.empty() && ends_with_text(body, sig_.text)) sig.clear();
    if (!dis.empty() && ends_with_text(body, sig_.disclaimer_text)) dis.clear();
    if (sig.empty() && dis.empty()) return body;
    return line_end(body) + sig + dis;
}

std::optional<std::string> Signer::add_html(std::string body) const {
    std::string sig = !sig_.html.empty() ? sig_.html : html_escape(sig_.text);
    std::string dis = !sig_.disclaimer_html.empty() ? sig_.disclaimer_html : html_escape(sig_.disclaimer_text);
    // Already there when it follows the last quotation.
    size_t quote = find_ci_last(body, "</blockquote>");
    std::string_view tail = std::string_view(body).substr(quote == std::string::npos ? 0 : quote);
    std::string add;
    if (!sig.empty() && tail.find(sig) == std::string_view::npos)
        add += "<div class=\"signature\">-- <br>\n" + sig + "</div>\n";
    if (!dis.empty() && tail.find(dis) == std::string_view::npos)
        add += "<div class=\"disclaimer\">" + dis + "</div>\n";
    if (add.empty()) return std::nullopt;
    // After the last quotation too, where the check above looks: a
    // "</blockquote>" past "</body>" (found by fuzz_signature) had the
    // signature added again on every pass.
    size_t from = quote == std::string::npos ? 0 : quote;
    size_t at = find_ci_last(body, "</body>");
    if (at == std::string::npos || at < from) at = find_ci_last(body, "</html>");
    if (at == std::string::npos || at < from) at = body.size();
    body.insert(at, add);
    return body;
}

std::optional<std::string> Signer::text(mime::Entity e, const mime::ContentType& ct, bool html) {
    std::string block = std::string(e.header) + "\n"; // the fields point into it
    auto h = parse_header(block, block.size());
    std::string cte = ascii_lower(unfold(h ? h->get("Content-Transfer-Encoding").value_or("7bit") : "7bit"));
    std::string body;
    if (cte == "base64") body = mime::base64_decode_body(e.body);
    else if (cte == "quoted-printable") body = mime::qp_decode(e.body);
    else if (cte == "7bit" || cte == "8bit" || cte == "binary") body = std::string(e.body);
    else return std::nullopt;
    std::string charset = ascii_lower(ct.param("charset"));
    if (charset.empty()) charset = "us-ascii";
    bool additions_8bit = mime::has_8bit(sig_.text) || mime::has_8bit(sig_.html) || mime::has_8bit(sig_.disclaimer_text) ||
                          mime::has_8bit(sig_.disclaimer_html);
    mime::ContentType out_ct = ct;
    if (charset.starts_with("utf-16") || charset.starts_with("utf-32") || charset.starts_with("iso-2022")) {
        auto u = to_utf8(body, charset);
        if (!u) return std::nullopt;
        body = *u;
        out_ct.params["charset"] = "utf-8";
    } else if (additions_8bit && charset != "utf-8") {
        if (charset != "us-ascii" && charset != "ascii") {
            auto u = to_utf8(body, charset);
            if (!u) return std::nullopt;
            body = *u;
        }
        out_ct.params["charset"] = "utf-8";
    }
    std::string changed;
    if (html) {
        auto b = add_html(body);
        if (!b) return std::nullopt;
        changed = *b;
    } else {
        changed = add_text(body);
        if (changed == body) return std::nullopt;
    }
    std::string encoded, out_cte = cte;
    if (cte == "base64") encoded = mime::base64_lines(changed);
    else if (cte == "quoted-printable") encoded = mime::qp_encode(changed);
    else if (cte == "7bit" && mime::has_8bit(changed)) encoded = mime::qp_encode(changed), out_cte = "quoted-printable";
    else encoded = changed;
    return mime::replace_content_fields(e.header, out_ct.str(), out_cte) + "\n" + encoded;
}

std::optional<std::string> Signer::multipart(mime::Entity e, const mime::ContentType& ct, int depth) {
    std::string b = ct.param("boundary");
    if (b.empty()) return std::nullopt;
    auto parts = mime::multipart_parts(e.body, b);
    if (parts.empty()) return std::nullopt;
    bool alternative = ct.subtype == "alternative";
    std::string body(e.body);
    bool changed = false;
    // From the last part to the first, so that offsets stay valid.
    for (size_t i = parts.size(); i-- > 0;) {
        if (!alternative && i != 0) continue;
        auto [begin, end] = parts[i];
        auto r = entity(e.body.substr(begin, end - begin), depth + 1);
        if (!r) continue;
        body.replace(begin, end - begin, *r);
        changed = true;
    }
    if (!changed) return std::nullopt;
    return std::string(e.header) + "\n" + body;
}

} // namespace

std::optional<std::string> add_signature(std::string_view message, const Signature& sig) {
    if (sig.empty()) return std::nullopt;
    Signer s(sig);
    auto h = parse_header(message, message.size());
    if (!h) return std::nullopt;
    return s.entity(message, 0);
}

} // namespace mail
