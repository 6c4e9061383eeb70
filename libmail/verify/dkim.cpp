#include "dkim.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/encoding.hpp"
#include "message/address.hpp"
#include "message/dkim.hpp"
#include "message/header.hpp"

namespace mail::verify {

namespace {

bool fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && fws(s.front())) s.remove_prefix(1);
    while (!s.empty() && fws(s.back())) s.remove_suffix(1);
    return s;
}

std::string without_fws(std::string_view s) {
    std::string out;
    for (char c : s)
        if (!fws(c)) out += c;
    return out;
}

const std::string* tag(const Tags& tags, std::string_view name) {
    for (auto& [k, v] : tags)
        if (k == name) return &v;
    return nullptr;
}

// The field exactly as it came, with CRLF line ends and without the
// final one (simple canonicalization).
std::string raw_text(const HeaderField& f) {
    std::string_view raw(f.name.data(), static_cast<size_t>(f.value.data() + f.value.size() - f.name.data()));
    std::string out;
    for (size_t i = 0; i < raw.size(); i++) {
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out += '\r';
        out += raw[i];
    }
    return out;
}

std::string canonical_field(const HeaderField& f, bool relaxed) {
    return relaxed ? dkim::relaxed_header(f.name, f.value) : raw_text(f) + "\r\n";
}

// RFC 6376 3.4.3: CRLF line ends, trailing empty lines reduced to none,
// then one CRLF (an empty body is one CRLF).
std::string simple_body(std::string_view body) {
    std::string out;
    out.reserve(body.size() + body.size() / 32);
    for (size_t i = 0; i < body.size(); i++) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out += '\r';
        out += body[i];
    }
    while (out.size() >= 2 && out.ends_with("\r\n")) out.resize(out.size() - 2);
    return out + "\r\n";
}

// A DKIM-Signature value with the value of its b= tag taken out (3.7).
std::string strip_b(std::string_view v) {
    std::string out;
    for (size_t start = 0;;) {
        size_t semi = v.find(';', start);
        std::string_view seg = v.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
        size_t eq = seg.find('=');
        out.append(eq != std::string_view::npos && trim(seg.substr(0, eq)) == "b" ? seg.substr(0, eq + 1) : seg);
        if (semi == std::string_view::npos) return out;
        out += ';';
        start = semi + 1;
    }
}

struct Pkey {
    EVP_PKEY* p = nullptr;
    ~Pkey() { EVP_PKEY_free(p); }
};

struct Verdict {
    std::string result, reason;
};

Verdict bad(const char* result, std::string reason) { return Verdict{result, std::move(reason)}; }

} // namespace

Result<Tags> parse_tag_list(std::string_view text) {
    Tags out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t semi = text.find(';', start);
        std::string_view seg = text.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
        start = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
        if (trim(seg).empty()) {
            if (semi == std::string_view::npos) break;
            continue; // a final ';', or an empty one
        }
        size_t eq = seg.find('=');
        if (eq == std::string_view::npos) return make_error(Errc::data, fmt::format("tag without '=': '{}'", trim(seg)));
        std::string name(trim(seg.substr(0, eq)));
        bool ok = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0]));
        for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        if (!ok) return make_error(Errc::data, fmt::format("bad tag name '{}'", name));
        if (tag(out, name)) return make_error(Errc::data, fmt::format("tag '{}' given twice", name));
        out.emplace_back(name, std::string(trim(seg.substr(eq + 1))));
    }
    return out;
}

namespace {

// A DKIM-Signature, or an ARC-Message-Signature (RFC 8617 4.1.2: the same
// but for its name, no v=, and i= the instance instead of an identity).
enum class Kind { dkim, ams };

// The signature `b` of `data` by `pkey`: RSA-SHA256, or (RFC 8463)
// Ed25519 over the SHA-256 of the data.
bool signature_ok(EVP_PKEY* pkey, bool ed25519, const std::string& data, const std::string& b) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok;
    const auto* sigp = reinterpret_cast<const unsigned char*>(b.data());
    if (!ed25519) {
        ok = EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
             EVP_DigestVerify(md, sigp, b.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    } else {
        unsigned char dh[32];
        unsigned dl = 0;
        EVP_Digest(data.data(), data.size(), dh, &dl, EVP_sha256(), nullptr);
        ok = EVP_DigestVerifyInit(md, nullptr, nullptr, nullptr, pkey) == 1 && EVP_DigestVerify(md, sigp, b.size(), dh, dl) == 1;
    }
    EVP_MD_CTX_free(md);
    return ok;
}

class Verifier {
  public:
    Verifier(const Lookup& dns, std::string_view message, const Header& h, int64_t now)
        : dns_(dns), message_(message), h_(h), now_(now) {}
    DkimResult check(size_t field, Kind kind = Kind::dkim);
    // The ARC-Seal `sets[instance - 1][2]` over the ARC sets up to its own
    // (RFC 8617 5.1.1): each set's fields in the order AAR, AMS, AS.
    Verdict seal(const std::vector<std::array<size_t, 3>>& sets, size_t instance);

  private:
    Verdict verify(const Tags& sig, size_t field, DkimResult& r, Kind kind);
    Verdict key(const std::string& domain, const std::string& selector, bool ed25519, const std::string& identity,
                Pkey& pkey, DkimResult& r);
    const std::string& body(bool relaxed);

    const Lookup& dns_;
    std::string_view message_;
    const Header& h_;
    int64_t now_;
    std::map<bool, std::string> bodies_; // canonical bodies, made once each
};

const std::string& Verifier::body(bool relaxed) {
    auto it = bodies_.find(relaxed);
    if (it != bodies_.end()) return it->second;
    std::string_view b = message_.substr(std::min(h_.body_offset, message_.size()));
    return bodies_[relaxed] = relaxed ? dkim::relaxed_body(b) : simple_body(b);
}

DkimResult Verifier::check(size_t field, Kind kind) {
    DkimResult r;
    auto tags = parse_tag_list(h_.fields[field].value);
    if (!tags) {
        r.result = "permerror";
        r.reason = "signature: " + tags.error().user;
        return r;
    }
    auto get = [&](const char* n) { return tag(*tags, n) ? *tag(*tags, n) : std::string(); };
    r.domain = ascii_lower(get("d"));
    r.selector = get("s");
    r.algorithm = get("a");
    r.identity = tag(*tags, "i") || kind == Kind::ams ? get("i") : "@" + get("d");
    r.b = without_fws(get("b")).substr(0, 16);
    Verdict v = verify(*tags, field, r, kind);
    r.result = v.result;
    r.reason = v.reason;
    return r;
}

Verdict Verifier::verify(const Tags& sig, size_t field, DkimResult& r, Kind kind) {
    bool dkim = kind == Kind::dkim;
    for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
        if (!tag(sig, required) && (dkim || *required != 'v'))
            return bad("permerror", fmt::format("signature without {}=", required));
    if (dkim && *tag(sig, "v") != "1") return bad("permerror", "signature version is not 1");
    const std::string& a = *tag(sig, "a");
    if (a == "rsa-sha1") return bad("fail", "rsa-sha1 is not accepted (RFC 8301)");
    if (a != "rsa-sha256" && a != "ed25519-sha256") return bad("permerror", "unknown algorithm " + a);
    bool ed25519 = a == "ed25519-sha256";
    // Canonicalization: header/body, simple by default (3.5).
    std::string c = tag(sig, "c") ? ascii_lower(*tag(sig, "c")) : "simple/simple";
    size_t slash = c.find('/');
    std::string hc = c.substr(0, slash), bc = slash == std::string::npos ? "simple" : c.substr(slash + 1);
    if ((hc != "simple" && hc != "relaxed") || (bc != "simple" && bc != "relaxed"))
        return bad("permerror", "unknown canonicalization " + c);
    // h= must list From (5.4).
    std::vector<std::string> names;
    for (std::string_view rest = *tag(sig, "h");;) {
        size_t colon = rest.find(':');
        names.push_back(ascii_lower(trim(rest.substr(0, colon))));
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    if (dkim && std::find(names.begin(), names.end(), "from") == names.end())
        return bad("permerror", "h= does not include From");
    // i= is d= or below it.
    std::string d = r.domain;
    if (d.empty() || r.selector.empty()) return bad("permerror", "empty d= or s=");
    std::string idomain = dkim ? ascii_lower(r.identity.substr(r.identity.rfind('@') + 1)) : d;
    if (dkim && (r.identity.find('@') == std::string::npos ||
                 !(idomain == d || (idomain.size() > d.size() && idomain.ends_with("." + d)))))
        return bad("permerror", "i= is not within d=");
    if (auto q = tag(sig, "q"); q && q->find("dns/txt") == std::string::npos)
        return bad("permerror", "no dns/txt in q=");
    auto t = tag(sig, "t"), x = tag(sig, "x");
    if (x) {
        int64_t expires = std::atoll(x->c_str());
        if (t && expires < std::atoll(t->c_str())) return bad("permerror", "x= before t=");
        if (expires < now_) return bad("fail", "signature expired");
    }
    auto bh = base64_decode(without_fws(*tag(sig, "bh")));
    auto b = base64_decode(without_fws(*tag(sig, "b")));
    if (!bh || !b || b->empty()) return bad("permerror", "bh= or b= is not base64");
    // The body hash, over l= octets if given.
    const std::string& canon = body(bc == "relaxed");
    size_t length = canon.size();
    if (auto l = tag(sig, "l")) {
        if (l->empty() || l->size() > 19 || l->find_first_not_of("0123456789") != std::string::npos)
            return bad("permerror", "bad l=");
        unsigned long long n = std::stoull(*l);
        if (n > canon.size()) return bad("fail", "l= is longer than the body");
        length = static_cast<size_t>(n);
        r.whole_body = length == canon.size();
    }
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned hash_len = 0;
    EVP_Digest(canon.data(), length, hash, &hash_len, EVP_sha256(), nullptr);
    if (bh->size() != hash_len || std::memcmp(bh->data(), hash, hash_len) != 0)
        return bad("fail", "body hash did not verify");
    // The key.
    Pkey pkey;
    if (Verdict k = key(d, r.selector, ed25519, idomain, pkey, r); !k.result.empty()) return k;
    // The header hash: for each name, the last instance not used yet.
    bool relaxed = hc == "relaxed";
    std::string data;
    std::map<std::string, size_t> used; // name -> instances taken from the bottom
    for (auto& name : names) {
        size_t skip = used[name]++;
        for (size_t i = h_.fields.size(); i-- > 0;) {
            if (!iequals(h_.fields[i].name, name)) continue;
            if (skip-- > 0) continue;
            data += canonical_field(h_.fields[i], relaxed);
            break;
        }
    }
    // Then this field, its b= value taken out, without its CRLF.
    const HeaderField& me = h_.fields[field];
    if (relaxed) {
        std::string self = dkim::relaxed_header(me.name, strip_b(me.value));
        data += self.substr(0, self.size() - 2);
    } else {
        std::string raw = raw_text(me);
        size_t colon = raw.find(':');
        data += raw.substr(0, colon + 1) + strip_b(std::string_view(raw).substr(colon + 1));
    }
    if (!signature_ok(pkey.p, ed25519, data, *b)) return bad("fail", "signature did not verify");
    if (!r.whole_body) return Verdict{"pass", fmt::format("l= covers {} of {} body octets", length, canon.size())};
    return Verdict{"pass", "signature verified"};
}

// The key record (3.6.1) at selector._domainkey.domain.
Verdict Verifier::key(const std::string& domain, const std::string& selector, bool ed25519,
                      const std::string& identity_domain, Pkey& pkey, DkimResult& r) {
    std::string name = selector + "._domainkey." + domain;
    auto answer = dns_(name, net::RrType::txt);
    if (answer.kind == net::DnsAnswer::failed) return bad("temperror", "key lookup for " + name + ": " + answer.error);
    if (answer.kind != net::DnsAnswer::found) return bad("permerror", "no key at " + name);
    auto tags = parse_tag_list(answer.values[0]);
    if (!tags) return bad("permerror", "key record: " + tags.error().user);
    if (auto v = tag(*tags, "v"); v && (*v != "DKIM1" || tags->front().first != "v"))
        return bad("permerror", "key record version is not DKIM1");
    if (auto h = tag(*tags, "h"); h && h->find("sha256") == std::string::npos)
        return bad("permerror", "the key does not allow sha256");
    std::string k = tag(*tags, "k") ? *tag(*tags, "k") : "rsa";
    if ((k == "ed25519") != ed25519 || (k != "rsa" && k != "ed25519"))
        return bad("permerror", "key type " + k + " does not match the signature's algorithm");
    if (auto s = tag(*tags, "s"); s && s->find('*') == std::string::npos && s->find("email") == std::string::npos)
        return bad("permerror", "the key is not for email");
    if (auto t = tag(*tags, "t")) {
        for (std::string_view rest = *t;;) {
            size_t colon = rest.find(':');
            std::string_view flag = trim(rest.substr(0, colon));
            if (flag == "y") r.testing = true;
            if (flag == "s" && identity_domain != domain) return bad("permerror", "t=s and i= is below d=");
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
    }
    auto p = tag(*tags, "p");
    if (!p) return bad("permerror", "key record without p=");
    if (p->empty()) return bad("permerror", "key revoked");
    auto der = base64_decode(without_fws(*p));
    if (!der) return bad("permerror", "key is not base64");
    const auto* in = reinterpret_cast<const unsigned char*>(der->data());
    if (ed25519) {
        if (der->size() != 32) return bad("permerror", "ed25519 key is not 32 octets");
        pkey.p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, in, der->size());
    } else {
        pkey.p = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
        if (!pkey.p) { // some records hold a bare RSAPublicKey
            in = reinterpret_cast<const unsigned char*>(der->data());
            pkey.p = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, static_cast<long>(der->size()));
        }
        if (pkey.p && !EVP_PKEY_is_a(pkey.p, "RSA")) return bad("permerror", "k=rsa but not an RSA key");
        if (pkey.p && EVP_PKEY_get_bits(pkey.p) < 1024)
            return bad("fail", fmt::format("RSA key of {} bits, under 1024 (RFC 8301)", EVP_PKEY_get_bits(pkey.p)));
    }
    if (!pkey.p) return bad("permerror", "key does not parse");
    return {};
}

Verdict Verifier::seal(const std::vector<std::array<size_t, 3>>& sets, size_t instance) {
    const HeaderField& me = h_.fields[sets[instance - 1][2]];
    auto tags = parse_tag_list(me.value);
    if (!tags) return bad("permerror", "seal: " + tags.error().user);
    for (const char* required : {"a", "b", "cv", "d", "i", "s"})
        if (!tag(*tags, required)) return bad("permerror", fmt::format("seal without {}=", required));
    if (tag(*tags, "h")) return bad("permerror", "a seal with h="); // RFC 8617 4.1.3
    const std::string& a = *tag(*tags, "a");
    if (a != "rsa-sha256" && a != "ed25519-sha256") return bad("permerror", "unknown algorithm " + a);
    auto b = base64_decode(without_fws(*tag(*tags, "b")));
    if (!b || b->empty()) return bad("permerror", "b= is not base64");
    std::string domain = ascii_lower(*tag(*tags, "d"));
    Pkey pkey;
    DkimResult scratch;
    if (Verdict k = key(domain, *tag(*tags, "s"), a == "ed25519-sha256", domain, pkey, scratch); !k.result.empty())
        return k;
    // Relaxed header canonicalization of every set up to this one, the
    // seal itself last, without its b= value and final CRLF.
    std::string data;
    for (size_t j = 0; j < instance; j++)
        for (size_t k = 0; k < 3; k++) {
            const HeaderField& f = h_.fields[sets[j][k]];
            if (j + 1 < instance || k < 2) {
                data += dkim::relaxed_header(f.name, f.value);
            } else {
                std::string self = dkim::relaxed_header(f.name, strip_b(f.value));
                data += self.substr(0, self.size() - 2);
            }
        }
    if (!signature_ok(pkey.p, a == "ed25519-sha256", data, *b)) return bad("fail", "seal did not verify");
    return Verdict{"pass", "seal verified"};
}

// The i= of an ARC field: 1 to 50, else 0. An ARC-Authentication-Results
// value starts with it ("i=1; mx.example.org; ...").
size_t arc_instance(std::string_view value, bool results) {
    auto tags = parse_tag_list(results ? value.substr(0, value.find(';')) : value);
    if (!tags) return 0;
    const std::string* i = tag(*tags, "i");
    if (!i || i->empty() || i->size() > 2 || i->find_first_not_of("0123456789") != std::string::npos) return 0;
    size_t n = std::stoul(*i);
    return n >= 1 && n <= 50 ? n : 0;
}

} // namespace

ArcResult verify_arc(const Lookup& dns, std::string_view message, int64_t now) {
    auto h = parse_header(message, message.size());
    return h ? verify_arc(dns, message, *h, now) : ArcResult{};
}

ArcResult verify_arc(const Lookup& dns, std::string_view message, const Header& header, int64_t now) {
    ArcResult out;
    const Header* h = &header;
    auto fail = [&out](std::string why) {
        out.result = "fail";
        out.reason = std::move(why);
        return out;
    };
    static const char* names[] = {"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"};
    std::map<size_t, std::array<std::optional<size_t>, 3>> found; // by instance: AAR, AMS, AS
    for (size_t f = 0; f < h->fields.size(); f++) {
        for (size_t k = 0; k < 3; k++) {
            if (!iequals(h->fields[f].name, names[k])) continue;
            size_t i = arc_instance(h->fields[f].value, k == 0);
            if (i == 0) return fail(fmt::format("{} without a valid i=", names[k]));
            if (found[i][k]) return fail(fmt::format("two {} fields with i={}", names[k], i));
            found[i][k] = f;
        }
    }
    if (found.empty()) return out; // none
    size_t n = found.rbegin()->first;
    if (found.size() != n) return fail(fmt::format("ARC sets missing below i={}", n));
    std::vector<std::array<size_t, 3>> sets;
    for (auto& [i, set] : found) {
        if (!set[0] || !set[1] || !set[2]) return fail(fmt::format("ARC set i={} is incomplete", i));
        sets.push_back({*set[0], *set[1], *set[2]});
    }
    out.instances = n;
    // The chain as the seals state it: none at i=1, pass after; a chain
    // already failed stays failed (RFC 8617 5.2).
    for (size_t i = 1; i <= n; i++) {
        auto tags = parse_tag_list(h->fields[sets[i - 1][2]].value);
        const std::string* cv = tags ? tag(*tags, "cv") : nullptr;
        std::string state = cv ? ascii_lower(*cv) : "";
        if (i == n && state == "fail") return fail(fmt::format("the chain was already failed at i={}", n));
        if (state != (i == 1 ? "none" : "pass")) return fail(fmt::format("the seal i={} says cv={}", i, state));
        if (i == n && tags) out.domain = tag(*tags, "d") ? ascii_lower(*tag(*tags, "d")) : "";
    }
    Verifier v(dns, message, *h, now);
    DkimResult ams = v.check(sets[n - 1][1], Kind::ams);
    if (ams.result != "pass") return fail(fmt::format("ARC-Message-Signature i={}: {}", n, ams.reason));
    for (size_t i = n; i >= 1; i--)
        if (Verdict s = v.seal(sets, i); s.result != "pass") return fail(fmt::format("ARC-Seal i={}: {}", i, s.reason));
    out.result = "pass";
    out.reason = fmt::format("{} ARC set{}, the last sealed by {}", n, n > 1 ? "s" : "", out.domain);
    return out;
}

std::vector<DkimResult> verify_dkim(const Lookup& dns, std::string_view message, const DkimLimits& limits) {
    auto h = parse_header(message, message.size());
    return h ? verify_dkim(dns, message, *h, limits) : std::vector<DkimResult>{};
}

std::vector<DkimResult> verify_dkim(const Lookup& dns, std::string_view message, const Header& header,
                                    const DkimLimits& limits) {
    std::vector<DkimResult> out;
    const Header* h = &header;
    Verifier v(dns, message, *h, limits.now);
    for (size_t i = 0; i < h->fields.size() && out.size() < limits.max_signatures; i++)
        if (iequals(h->fields[i].name, "DKIM-Signature")) out.push_back(v.check(i));
    return out;
}

} // namespace mail::verify
