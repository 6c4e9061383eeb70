#include "secret.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/encoding.hpp"
#include "base/files.hpp"

namespace mail {

namespace {

constexpr size_t nonce_len = 12, tag_len = 16;
constexpr std::string_view prefix = "v1:";

struct Ctx {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    ~Ctx() { EVP_CIPHER_CTX_free(c); }
};

Error bad_value() { return make_error(Errc::data, "a sealed secret does not open (altered, or another key)"); }

} // namespace

Status SecretBox::create_key(const std::string& key_path) {
    if (exists(key_path)) return {};
    std::array<unsigned char, 32> k;
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1)
        return make_error(Errc::tempfail, "no random bytes for the secret key");
    std::string text = base64_encode(std::string_view(reinterpret_cast<char*>(k.data()), k.size())) + "\n";
    return durable_write(key_path + ".tmp", key_path, {text});
}

Result<SecretBox> SecretBox::open(const std::string& key_path) {
    auto text = read_file(key_path, 4096);
    if (!text) return text.error();
    std::string_view t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
    auto raw = base64_decode(t);
    if (!raw || raw->size() != 32) return make_error(Errc::data, key_path + " is not a secret key");
    SecretBox b;
    std::copy(raw->begin(), raw->end(), b.key_.begin());
    return b;
}

Result<std::string> SecretBox::seal(std::string_view plain, std::string_view context) const {
    std::string out(nonce_len + plain.size() + tag_len, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    if (RAND_bytes(o, nonce_len) != 1) return make_error(Errc::tempfail, "no random bytes for a nonce");
    Ctx ctx;
    int n = 0;
    bool ok = EVP_EncryptInit_ex(ctx.c, EVP_aes_256_gcm(), nullptr, key_.data(), o) == 1 &&
              EVP_EncryptUpdate(ctx.c, nullptr, &n, reinterpret_cast<const unsigned char*>(context.data()),
                                static_cast<int>(context.size())) == 1 &&
              EVP_EncryptUpdate(ctx.c, o + nonce_len, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size())) == 1 &&
              EVP_EncryptFinal_ex(ctx.c, o + nonce_len + n, &n) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.c, EVP_CTRL_GCM_GET_TAG, tag_len, o + nonce_len + plain.size()) == 1;
    if (!ok) return make_error(Errc::software, "sealing a secret failed");
    return std::string(prefix) + base64_encode(out);
}

Result<std::string> SecretBox::unseal(std::string_view sealed, std::string_view context) const {
    if (!sealed.starts_with(prefix)) return bad_value();
    auto raw = base64_decode(sealed.substr(prefix.size()));
    if (!raw || raw->size() < nonce_len + tag_len) return bad_value();
    auto* r = reinterpret_cast<unsigned char*>(raw->data());
    size_t len = raw->size() - nonce_len - tag_len;
    std::string plain(len, '\0');
    Ctx ctx;
    int n = 0;
    bool ok = EVP_DecryptInit_ex(ctx.c, EVP_aes_256_gcm(), nullptr, key_.data(), r) == 1 &&
              EVP_DecryptUpdate(ctx.c, nullptr, &n, reinterpret_cast<const unsigned char*>(context.data()),
                                static_cast<int>(context.size())) == 1 &&
              EVP_DecryptUpdate(ctx.c, reinterpret_cast<unsigned char*>(plain.data()), &n, r + nonce_len,
                                static_cast<int>(len)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.c, EVP_CTRL_GCM_SET_TAG, tag_len, r + nonce_len + len) == 1 &&
              EVP_DecryptFinal_ex(ctx.c, reinterpret_cast<unsigned char*>(plain.data()) + n, &n) == 1;
    if (!ok) return bad_value();
    return plain;
}

} // namespace mail
