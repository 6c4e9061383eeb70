#include "authres.hpp"

namespace mail::verify {

namespace {

// A comment's text: printable ASCII without parentheses or backslashes,
// bounded.
std::string comment(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.size() >= 200) break;
        if (c >= 0x20 && c <= 0x7e && c != '(' && c != ')' && c != '\\') out += c;
    }
    return out;
}

bool atext(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (size_t i = 0; i < s.size(); i++)
        if (!atext(s[i]) && !(s[i] == '.' && s[i - 1] != '.')) return false;
    return true;
}

// A quoted-string of printable ASCII (anything else dropped).
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c < 0x20 || c > 0x7e) continue;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

bool domain_name(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_'))
            return false;
    return true;
}

// pvalue (RFC 8601 2.2): [local-part "@"] domain, or a quoted value.
std::string pvalue(std::string_view s) {
    size_t at = s.rfind('@');
    std::string_view local = at == std::string_view::npos ? std::string_view() : s.substr(0, at);
    std::string_view domain = at == std::string_view::npos ? s : s.substr(at + 1);
    if (!domain_name(domain)) return quoted(s);
    if (at == std::string_view::npos) return std::string(domain);
    if (local.empty()) return "@" + std::string(domain);
    return (dot_atom(local) ? std::string(local) : quoted(local)) + "@" + std::string(domain);
}

} // namespace

std::string spf_result(const SpfVerdict& v) {
    std::string out = std::string("spf=") + spf_name(v.result);
    if (!v.reason.empty()) out += " (" + comment(v.reason) + ")";
    out += v.helo ? " smtp.helo=" + pvalue(v.domain) : " smtp.mailfrom=" + pvalue(v.sender);
    return out;
}

std::vector<std::string> dkim_results(const std::vector<DkimResult>& results) {
    if (results.empty()) return {"dkim=none"};
    std::vector<std::string> out;
    for (auto& r : results) {
        std::string line = "dkim=" + r.result;
        if (!r.reason.empty()) line += " (" + comment(r.reason + (r.testing ? ", testing key" : "")) + ")";
        if (!r.domain.empty()) line += " header.d=" + pvalue(r.domain);
        if (!r.identity.empty()) line += " header.i=" + pvalue(r.identity);
        if (!r.selector.empty()) line += " header.s=" + pvalue(r.selector);
        if (!r.algorithm.empty()) line += " header.a=" + pvalue(r.algorithm);
        if (!r.b.empty()) line += " header.b=" + quoted(r.b.substr(0, 8));
        out.push_back(line);
    }
    return out;
}

std::string arc_result(const ArcResult& v, const std::string& ip) {
    std::string out = "arc=" + v.result;
    if (!v.reason.empty()) out += " (" + comment(v.reason) + ")";
    if (v.result != "none" && !ip.empty()) out += " smtp.remote-ip=" + pvalue(ip);
    return out;
}

std::string dmarc_result(const DmarcVerdict& v) {
    std::string out = "dmarc=" + v.result;
    std::string why = v.reason;
    if (v.record) {
        why = "p=" + v.record->p;
        if (!v.record->sp.empty()) why += " sp=" + v.record->sp;
        if (!v.record->np.empty()) why += " np=" + v.record->np;
        if (v.record->testing) why += " t=y";
        why += " dis=" + v.disposition;
        if (v.result != "pass" && v.result != "fail") why += ", " + v.reason;
    }
    if (!why.empty()) out += " (" + comment(why) + ")";
    if (!v.from_domain.empty()) out += " header.from=" + pvalue(v.from_domain);
    return out;
}

std::string authentication_results(const std::string& authserv_id, const std::vector<std::string>& results) {
    std::string out = "Authentication-Results: " + pvalue(authserv_id) + ";";
    if (results.empty()) return out + " none";
    for (size_t i = 0; i < results.size(); i++) out += (i ? ";\n\t" : "\n\t") + results[i];
    return out;
}

} // namespace mail::verify
