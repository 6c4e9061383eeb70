#include "certificate.hpp"

#include <functional>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/files.hpp"

namespace mail {
namespace {

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};

Error ssl_error(const std::string& what) {
    return make_error(Errc::tempfail, "cannot make a certificate", "openssl: " + what);
}

Result<std::string> pem(const std::function<int(BIO*)>& write) {
    std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) return ssl_error("PEM write");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

Status add_ext(X509* x, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, Free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1) return ssl_error("extension");
    return {};
}

} // namespace

Status make_self_signed(const std::string& host, const std::string& cert_path,
                        const std::string& key_path) {
    std::unique_ptr<EVP_PKEY, Free> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return ssl_error("keygen");
    std::unique_ptr<X509, Free> x(X509_new());
    if (!x) return ssl_error("X509_new");
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return ssl_error("RAND_bytes");
    serial[0] &= 0x7f;
    std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> bn(BN_bin2bn(serial, sizeof serial, nullptr), BN_free);
    X509_set_version(x.get(), 2);
    BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()));
    X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    MAIL_TRY(add_ext(x.get(), NID_subject_alt_name, "DNS:" + host));
    MAIL_TRY(add_ext(x.get(), NID_basic_constraints, "critical,CA:FALSE"));
    if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) return ssl_error("sign");

    auto key_pem = pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    auto cert_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, x.get()); });
    if (!key_pem) return key_pem.error();
    if (!cert_pem) return cert_pem.error();
    MAIL_TRY(make_dirs(dir_of(key_path)));
    MAIL_TRY(make_dirs(dir_of(cert_path)));
    MAIL_TRY(durable_write(key_path + ".tmp", key_path, {*key_pem}));
    return durable_write(cert_path + ".tmp", cert_path, {*cert_pem});
}

} // namespace mail
