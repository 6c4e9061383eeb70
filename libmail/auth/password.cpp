#include "password.hpp"

#include <crypt.h>
#include <memory>
#include <openssl/crypto.h>

namespace mail {
namespace {

std::string_view strip_scheme(std::string_view stored) {
    if (stored.empty() || stored.front() != '{') return stored;
    size_t end = stored.find('}');
    if (end == std::string_view::npos) return {};
    std::string_view scheme = stored.substr(1, end - 1);
    for (auto s : {"CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT"})
        if (scheme == s) return stored.substr(end + 1);
    return {}; // PLAIN, SSHA... are not accepted
}

} // namespace

Result<std::string> hash_password(std::string_view password) {
    if (password.find('\0') != std::string_view::npos)
        return make_error(Errc::data, "password contains a NUL byte");
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt))
        return make_error(Errc::tempfail, "cannot make a password salt", "crypt_gensalt_rn");
    auto data = std::make_unique<crypt_data>();
    std::string pw(password);
    const char* h = crypt_r(pw.c_str(), salt, data.get());
    if (!h || h[0] == '*') return make_error(Errc::tempfail, "cannot hash password", "crypt_r");
    return std::string(h);
}

bool verify_password(std::string_view password, std::string_view stored) {
    std::string_view hash = strip_scheme(stored);
    if (hash.empty() || hash.front() != '$') return false;
    if (password.find('\0') != std::string_view::npos) return false;
    auto data = std::make_unique<crypt_data>();
    std::string pw(password), setting(hash);
    const char* h = crypt_r(pw.c_str(), setting.c_str(), data.get());
    if (!h || h[0] == '*') return false;
    std::string_view computed(h);
    return computed.size() == hash.size() &&
           CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

bool known_hash_scheme(std::string_view stored) {
    std::string_view hash = strip_scheme(stored);
    return !hash.empty() && hash.front() == '$';
}

} // namespace mail
