#include "dkim.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/encoding.hpp"
#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::dkim {

namespace {

// Header fields signed when present; From once more than it appears, so
// that a From added later breaks the signature (RFC 6376 8.15).
constexpr std::string_view signed_fields[] = {
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
    "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding",
    "list-id", "list-unsubscribe", "list-unsubscribe-post"};

Error ssl_error(std::string what) {
    char buf[256] = "no detail";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return make_error(Errc::software, std::move(what), buf);
}

bool wsp(char c) { return c == ' ' || c == '\t'; }

// Relaxed body canonicalization, fed in pieces; line ends as DotStuffer
// sends them (CRLF, LF and a lone CR are all one line end).
class RelaxedBody {
  public:
    template <typename Out> void feed(std::string_view in, Out& out) {
        for (char c : in) {
            if (after_cr_) {
                after_cr_ = false;
                if (c == '\n') continue;
            }
            if (c == '\r' || c == '\n') {
                after_cr_ = c == '\r';
                if (content_) out("\r\n", 2);
                else empty_lines_++;
                content_ = wsp_ = false;
            } else if (wsp(c)) {
                wsp_ = true;
            } else {
                if (!content_)
                    for (; empty_lines_ > 0; empty_lines_--) out("\r\n", 2);
                if (wsp_) out(" ", 1);
                out(&c, 1);
                content_ = true, wsp_ = false;
            }
        }
    }
    template <typename Out> void finish(Out& out) {
        if (content_) out("\r\n", 2);
    }

  private:
    bool after_cr_ = false, content_ = false, wsp_ = false;
    size_t empty_lines_ = 0;
};

struct MdCtx {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    ~MdCtx() { EVP_MD_CTX_free(c); }
};

std::string fold_b64(const std::string& b64) {
    std::string out;
    for (size_t i = 0; i < b64.size(); i += 64) {
        if (i) out += "\n\t ";
        out += b64.substr(i, 64);
    }
    return out;
}

} // namespace

const char* algorithm_name(Algorithm a) {
    return a == Algorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256";
}

Result<Algorithm> parse_algorithm(std::string_view name) {
    if (name == "rsa-sha256" || name == "rsa") return Algorithm::rsa_sha256;
    if (name == "ed25519-sha256" || name == "ed25519") return Algorithm::ed25519_sha256;
    return make_error(Errc::usage, "unknown DKIM algorithm '" + std::string(name) +
                                       "' (rsa-sha256 or ed25519-sha256)");
}

Result<Key> generate(Algorithm a) {
    EVP_PKEY* p = a == Algorithm::rsa_sha256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!p) return ssl_error("cannot generate a DKIM key");
    Key k;
    k.algorithm = a;
    k.pkey.reset(p, EVP_PKEY_free);
    return k;
}

Result<std::string> private_pem(const Key& k) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), k.pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return ssl_error("cannot write the DKIM key");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

Result<Key> load_pem(std::string_view pem, Algorithm a) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  BIO_free);
    EVP_PKEY* p = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!p) return ssl_error("cannot read the DKIM key");
    Key k;
    k.algorithm = a;
    k.pkey.reset(p, EVP_PKEY_free);
    bool rsa = EVP_PKEY_is_a(p, "RSA"), ed = EVP_PKEY_is_a(p, "ED25519");
    if ((a == Algorithm::rsa_sha256 && !rsa) || (a == Algorithm::ed25519_sha256 && !ed))
        return make_error(Errc::data, "the DKIM key is not of type " + std::string(algorithm_name(a)));
    return k;
}

Result<std::string> public_value(const Key& k) {
    if (k.algorithm == Algorithm::ed25519_sha256) {
        unsigned char raw[32];
        size_t n = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(k.pkey.get(), raw, &n) != 1)
            return ssl_error("cannot read the DKIM public key");
        return base64_encode(std::string_view(reinterpret_cast<char*>(raw), n));
    }
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(k.pkey.get(), &der);
    if (n <= 0) return ssl_error("cannot read the DKIM public key");
    std::string out = base64_encode(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
    OPENSSL_free(der);
    return out;
}

std::string txt_record(Algorithm a, const std::string& p) {
    return fmt::format("v=DKIM1; k={}; p={}", a == Algorithm::ed25519_sha256 ? "ed25519" : "rsa", p);
}

std::string relaxed_header(std::string_view name, std::string_view value) {
    std::string out = ascii_lower(name);
    while (!out.empty() && wsp(out.back())) out.pop_back();
    out += ':';
    bool space = false, text = false; // white space before this, text written yet
    for (char c : value) {
        if (c == '\r' || c == '\n') continue; // unfold
        if (wsp(c)) {
            space = true;
            continue;
        }
        if (space && text) out += ' '; // not at the start of the value
        space = false, text = true;
        out += c;
    }
    return out + "\r\n";
}

std::string relaxed_body(std::string_view body) {
    std::string out;
    RelaxedBody rb;
    auto sink = [&](const char* p, size_t n) { out.append(p, n); };
    rb.feed(body, sink);
    rb.finish(sink);
    return out;
}

Result<std::string> sign(std::string_view message, const std::vector<Key>& keys, int64_t now) {
    auto h = parse_header(message, message.size());
    if (!h) return h.error();
    // The body hash, over the body exactly as it will be sent.
    unsigned char bh[EVP_MAX_MD_SIZE];
    unsigned bh_len = 0;
    {
        MdCtx md;
        EVP_DigestInit_ex(md.c, EVP_sha256(), nullptr);
        std::string buf;
        auto sink = [&](const char* p, size_t n) {
            buf.append(p, n);
            if (buf.size() >= 65536) EVP_DigestUpdate(md.c, buf.data(), buf.size()), buf.clear();
        };
        RelaxedBody rb;
        rb.feed(message.substr(h->body_offset), sink);
        rb.finish(sink);
        EVP_DigestUpdate(md.c, buf.data(), buf.size());
        EVP_DigestFinal_ex(md.c, bh, &bh_len);
    }
    // The fields: each name once per instance (bottom-up), From once more.
    std::string names, data;
    for (auto name : signed_fields) {
        size_t n = h->count(name);
        if (n == 0 && name != "from") continue;
        for (size_t i = h->fields.size(); i-- > 0;)
            if (ascii_lower(h->fields[i].name) == name) {
                data += relaxed_header(name, h->fields[i].value);
                names += std::string(names.empty() ? "" : ":") + std::string(name);
            }
        if (name == "from") names += std::string(names.empty() ? "" : ":") + "from";
    }
    std::string out;
    for (auto& k : keys) {
        std::string value = fmt::format(
            " v=1; a={}; c=relaxed/relaxed; d={}; s={};\n\tt={}; h={};\n\tbh={};\n\tb=",
            algorithm_name(k.algorithm), k.domain, k.selector, now, names,
            base64_encode(std::string_view(reinterpret_cast<char*>(bh), bh_len)));
        std::string signed_data = data + relaxed_header("DKIM-Signature", value);
        signed_data.resize(signed_data.size() - 2); // without its CRLF
        MdCtx md;
        std::string sig(1024, '\0');
        size_t sig_len = sig.size();
        bool ok;
        if (k.algorithm == Algorithm::rsa_sha256) {
            ok = EVP_DigestSignInit(md.c, nullptr, EVP_sha256(), nullptr, k.pkey.get()) == 1 &&
                 EVP_DigestSign(md.c, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                                reinterpret_cast<const unsigned char*>(signed_data.data()),
                                signed_data.size()) == 1;
        } else { // RFC 8463: PureEdDSA over the SHA-256 of the data
            unsigned char hash[32];
            unsigned hl = 0;
            EVP_Digest(signed_data.data(), signed_data.size(), hash, &hl, EVP_sha256(), nullptr);
            ok = EVP_DigestSignInit(md.c, nullptr, nullptr, nullptr, k.pkey.get()) == 1 &&
                 EVP_DigestSign(md.c, reinterpret_cast<unsigned char*>(sig.data()), &sig_len, hash, hl) == 1;
        }
        if (!ok) return ssl_error("DKIM signing failed");
        sig.resize(sig_len);
        out += "DKIM-Signature:" + value + fold_b64(base64_encode(sig)) + "\n";
    }
    return out;
}

} // namespace mail::dkim
