#include "feedback.hpp"

#include <cstring>
#include <expat.h>
#include <fmt/format.h>
#include <zlib.h>

#include "base/encoding.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"

namespace mail::reports {

namespace {

std::string xml_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default:
            if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
        }
    }
    return out;
}

void element(std::string& out, int depth, std::string_view name, std::string_view text) {
    out.append(static_cast<size_t>(depth) * 2, ' ');
    out += fmt::format("<{}>{}</{}>\n", name, xml_text(text), name);
}

} // namespace

std::string write_feedback(const Feedback& f) {
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n";
    element(x, 1, "version", "1.0");
    x += "  <report_metadata>\n";
    element(x, 2, "org_name", f.org_name);
    element(x, 2, "email", f.email);
    element(x, 2, "report_id", f.report_id);
    x += fmt::format("    <date_range>\n      <begin>{}</begin>\n      <end>{}</end>\n    </date_range>\n", f.begin,
                     f.end);
    x += "  </report_metadata>\n  <policy_published>\n";
    element(x, 2, "domain", f.domain);
    element(x, 2, "p", f.p);
    if (!f.sp.empty()) element(x, 2, "sp", f.sp);
    if (!f.np.empty()) element(x, 2, "np", f.np);
    element(x, 2, "adkim", f.adkim);
    element(x, 2, "aspf", f.aspf);
    element(x, 2, "discovery_method", "treewalk");
    element(x, 2, "testing", f.testing);
    x += "  </policy_published>\n";
    for (auto& r : f.rows) {
        x += "  <record>\n    <row>\n";
        element(x, 3, "source_ip", r.source_ip);
        element(x, 3, "count", std::to_string(r.count));
        x += "      <policy_evaluated>\n";
        element(x, 4, "disposition", r.disposition);
        element(x, 4, "dkim", r.dkim);
        element(x, 4, "spf", r.spf);
        if (!r.reason.empty()) {
            x += "        <reason>\n";
            element(x, 5, "type", r.reason);
            x += "        </reason>\n";
        }
        x += "      </policy_evaluated>\n    </row>\n    <identifiers>\n";
        if (!r.envelope_from.empty()) element(x, 3, "envelope_from", r.envelope_from);
        element(x, 3, "header_from", r.header_from);
        x += "    </identifiers>\n    <auth_results>\n";
        for (auto& d : r.dkim_results) {
            x += "      <dkim>\n";
            element(x, 4, "domain", d.domain);
            element(x, 4, "selector", d.selector);
            element(x, 4, "result", d.result);
            x += "      </dkim>\n";
        }
        x += "      <spf>\n";
        element(x, 4, "domain", r.spf_result.domain);
        element(x, 4, "scope", r.spf_result.scope.empty() ? "mfrom" : r.spf_result.scope);
        element(x, 4, "result", r.spf_result.result);
        x += "      </spf>\n    </auth_results>\n  </record>\n";
    }
    return x + "</feedback>\n";
}

namespace {

// The parse: a stack of element names (prefixes dropped) and the text of
// the innermost one; at each end tag, the text goes where its path says.
struct Parse {
    XML_Parser parser = nullptr;
    Feedback f;
    std::vector<std::string> path;
    std::string text;
    size_t max_rows;
    std::string error;
    bool in_feedback = false;

    void stop(std::string why) {
        if (error.empty()) error = std::move(why);
        XML_StopParser(parser, XML_FALSE);
    }
    bool at(std::initializer_list<const char*> tail) const {
        if (path.size() < tail.size()) return false;
        size_t i = path.size() - tail.size();
        for (const char* t : tail)
            if (path[i++] != t) return false;
        return true;
    }
    void start(const char* name) {
        const char* colon = std::strrchr(name, ':');
        path.emplace_back(colon ? colon + 1 : name);
        text.clear();
        if (path.size() > 16) return stop("elements nested too deep");
        if (path.size() == 1) {
            if (path[0] != "feedback") return stop("the document is not <feedback>");
            in_feedback = true;
        }
        if (path.size() == 2 && path[1] == "record") {
            if (f.rows.size() >= max_rows) return stop(fmt::format("more than {} records", max_rows));
            f.rows.emplace_back();
        }
        if (at({"record", "auth_results", "dkim"}) && !f.rows.empty()) f.rows.back().dkim_results.emplace_back();
    }
    void end() {
        std::string v(text.begin(), text.end());
        while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
        size_t s = 0;
        while (s < v.size() && std::isspace(static_cast<unsigned char>(v[s]))) s++;
        v.erase(0, s);
        assign(v);
        path.pop_back();
        text.clear();
    }
    void assign(const std::string& v) {
        if (path.size() < 3) return;
        const std::string& leaf = path.back();
        if (path[1] == "report_metadata") {
            if (leaf == "org_name") f.org_name = v;
            else if (leaf == "email") f.email = v;
            else if (leaf == "report_id") f.report_id = v;
            else if (at({"date_range", "begin"})) f.begin = std::atoll(v.c_str());
            else if (at({"date_range", "end"})) f.end = std::atoll(v.c_str());
        } else if (path[1] == "policy_published" && path.size() == 3) {
            if (leaf == "domain") f.domain = ascii_lower(v);
            else if (leaf == "p") f.p = v;
            else if (leaf == "sp") f.sp = v;
            else if (leaf == "np") f.np = v;
            else if (leaf == "adkim") f.adkim = v;
            else if (leaf == "aspf") f.aspf = v;
            else if (leaf == "testing") f.testing = v;
        } else if (path[1] == "record" && !f.rows.empty()) {
            Row& r = f.rows.back();
            if (at({"row", "source_ip"})) r.source_ip = v;
            else if (at({"row", "count"})) r.count = std::max<int64_t>(0, std::atoll(v.c_str()));
            else if (at({"policy_evaluated", "disposition"})) r.disposition = v;
            else if (at({"policy_evaluated", "dkim"})) r.dkim = v;
            else if (at({"policy_evaluated", "spf"})) r.spf = v;
            else if (at({"policy_evaluated", "reason", "type"})) r.reason = v;
            else if (at({"identifiers", "header_from"})) r.header_from = ascii_lower(v);
            else if (at({"identifiers", "envelope_from"})) r.envelope_from = ascii_lower(v);
            else if (path.size() == 5 && path[2] == "auth_results") {
                AuthResult* a = path[3] == "spf" ? &r.spf_result
                                : path[3] == "dkim" && !r.dkim_results.empty() ? &r.dkim_results.back()
                                                                              : nullptr;
                if (!a) return;
                if (leaf == "domain") a->domain = ascii_lower(v);
                else if (leaf == "selector") a->selector = v;
                else if (leaf == "scope") a->scope = v;
                else if (leaf == "result") a->result = v;
            }
        }
    }
};

void XMLCALL on_start(void* p, const XML_Char* name, const XML_Char**) { static_cast<Parse*>(p)->start(name); }
void XMLCALL on_end(void* p, const XML_Char*) { static_cast<Parse*>(p)->end(); }
void XMLCALL on_text(void* p, const XML_Char* s, int len) {
    auto* x = static_cast<Parse*>(p);
    if (x->text.size() + static_cast<size_t>(len) > 4096) return x->stop("an element's text is over 4096 octets");
    x->text.append(s, static_cast<size_t>(len));
}
// No DTD: no entity of the document's own (the way to a billion laughs).
void XMLCALL on_doctype(void* p, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<Parse*>(p)->stop("a DTD is not accepted");
}

} // namespace

Result<Feedback> parse_feedback(std::string_view xml, size_t max_rows) {
    Parse x;
    x.max_rows = max_rows;
    x.parser = XML_ParserCreate("UTF-8");
    if (!x.parser) return make_error(Errc::tempfail, "out of memory for the XML parser");
    XML_SetUserData(x.parser, &x);
    XML_SetElementHandler(x.parser, on_start, on_end);
    XML_SetCharacterDataHandler(x.parser, on_text);
    XML_SetStartDoctypeDeclHandler(x.parser, on_doctype);
    bool ok = XML_Parse(x.parser, xml.data(), static_cast<int>(std::min<size_t>(xml.size(), INT32_MAX)), XML_TRUE) ==
              XML_STATUS_OK;
    std::string why = x.error;
    if (!ok && why.empty())
        why = fmt::format("XML: {} at line {}", XML_ErrorString(XML_GetErrorCode(x.parser)),
                          XML_GetCurrentLineNumber(x.parser));
    XML_ParserFree(x.parser);
    if (!why.empty()) return make_error(Errc::data, "aggregate report: " + why);
    if (!x.in_feedback) return make_error(Errc::data, "aggregate report: no <feedback>");
    if (x.f.domain.empty()) return make_error(Errc::data, "aggregate report: no policy_published domain");
    return std::move(x.f);
}

std::string gzip(std::string_view data) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

namespace {

// windowBits: 15+16 gzip, -15 raw deflate (zip).
Result<std::string> inflate_bounded(std::string_view data, int window_bits, size_t max_size) {
    z_stream z{};
    if (inflateInit2(&z, window_bits) != Z_OK) return make_error(Errc::tempfail, "zlib: out of memory");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), UINT32_MAX));
    std::string out;
    char buf[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (out.size() > max_size) rc = Z_MEM_ERROR;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break; // truncated
    }
    inflateEnd(&z);
    if (out.size() > max_size) return make_error(Errc::data, fmt::format("report larger than {} octets unpacked", max_size));
    if (rc != Z_STREAM_END) return make_error(Errc::data, "compressed report is damaged or truncated");
    return out;
}

uint32_t le32(std::string_view d, size_t at) {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(d[at + i])); };
    return b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24;
}
uint16_t le16(std::string_view d, size_t at) {
    return static_cast<uint16_t>(static_cast<unsigned char>(d[at]) | static_cast<unsigned char>(d[at + 1]) << 8);
}

// The first file of a zip archive, through its central directory (the
// local header's sizes may be left to a data descriptor).
Result<std::string> unzip_first(std::string_view d, size_t max_size) {
    auto damaged = [] { return make_error(Errc::data, "zip archive is damaged"); };
    if (d.size() < 22) return damaged();
    size_t eocd = std::string_view::npos;
    for (size_t i = d.size() - 22 + 1; i-- > 0 && d.size() - i <= 22 + 65535;)
        if (le32(d, i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string_view::npos) return damaged();
    size_t cd = le32(d, eocd + 16);
    if (d.size() < 46 || cd > d.size() - 46 || le32(d, cd) != 0x02014b50) return damaged();
    uint16_t method = le16(d, cd + 10);
    size_t csize = le32(d, cd + 20), usize = le32(d, cd + 24), local = le32(d, cd + 42);
    if (local > d.size() - 30 || le32(d, local) != 0x04034b50) return damaged();
    size_t start = local + 30 + le16(d, local + 26) + le16(d, local + 28);
    if (start > d.size() || csize > d.size() - start) return damaged();
    std::string_view data = d.substr(start, csize);
    if (method == 0) {
        if (csize > max_size) return make_error(Errc::data, "report too large");
        return std::string(data);
    }
    if (method != 8) return make_error(Errc::data, fmt::format("zip method {} is not deflate", method));
    auto out = inflate_bounded(data, -15, std::min(max_size, usize ? usize : max_size));
    return out;
}

} // namespace

Result<std::string> unpack(std::string_view data, size_t max_size) {
    if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b)
        return inflate_bounded(data, 15 + 16, max_size);
    if (data.size() >= 4 && le32(data, 0) == 0x04034b50) return unzip_first(data, max_size);
    if (data.size() > max_size) return make_error(Errc::data, "report too large");
    size_t i = 0;
    while (i < data.size() && std::isspace(static_cast<unsigned char>(data[i]))) i++;
    if (data.substr(i, 3) == "\xEF\xBB\xBF") i += 3;
    if (i < data.size() && data[i] == '<') return std::string(data);
    return make_error(Errc::data, "not gzip, zip or XML");
}

bool is_aggregate_report(std::string_view subject) {
    size_t i = 0;
    while (i < subject.size() && (subject[i] == ' ' || subject[i] == '\t')) i++;
    return ascii_lower(subject.substr(i, 14)) == "report domain:";
}

namespace {

bool report_part(const mime::ContentType& ct, const std::string& name) {
    if (ct.is("application", "gzip") || ct.is("application", "x-gzip") || ct.is("application", "zip") ||
        ct.is("application", "x-zip-compressed") || ct.is("application", "xml") || ct.is("text", "xml"))
        return true;
    std::string n = ascii_lower(name);
    return n.ends_with(".xml.gz") || n.ends_with(".zip") || n.ends_with(".xml") || n.ends_with(".gz");
}

void walk(std::string_view entity, int depth, std::vector<Feedback>& out, std::string& error) {
    auto h = parse_header(entity);
    if (!h || depth > 5) return;
    auto ct = mime::parse_content_type(h->get("Content-Type").value_or(""));
    std::string_view body = entity.substr(std::min(h->body_offset, entity.size()));
    if (ct.is("multipart")) {
        size_t parts = 0;
        for (auto [b, e] : mime::multipart_parts(body, ct.param("boundary"))) {
            if (++parts > 20) break;
            walk(body.substr(b, e - b), depth + 1, out, error);
        }
        return;
    }
    std::string name = ct.param("name");
    if (auto cd = h->get("Content-Disposition"); cd && name.empty())
        name = mime::parse_content_type("x/" + *cd).param("filename");
    if (!report_part(ct, name)) return;
    std::string cte = ascii_lower(unfold(h->get("Content-Transfer-Encoding").value_or("")));
    std::string data = cte == "base64" ? mime::base64_decode_body(body)
                       : cte == "quoted-printable" ? mime::qp_decode(body)
                                                   : std::string(body);
    auto xml = unpack(data);
    auto f = xml ? parse_feedback(*xml) : Result<Feedback>(xml.error());
    if (f) out.push_back(std::move(*f));
    else if (error.empty()) error = f.error().user;
}

} // namespace

Result<std::vector<Feedback>> reports_in_message(std::string_view message) {
    std::vector<Feedback> out;
    std::string error;
    walk(message, 0, out, error);
    if (out.empty()) return make_error(Errc::data, error.empty() ? "no aggregate report in the message" : error);
    return out;
}

} // namespace mail::reports
