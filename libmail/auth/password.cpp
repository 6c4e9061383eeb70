#include "password.hpp"

#include <crypt.h>
#include <memory>
#include <openssl/crypto.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

// yescrypt's working area (16 MiB at Debian's default cost) is mapped
// afresh by libcrypt for every hash and read at random: with 4 KiB pages,
// its 4,096 page faults and the TLB misses cost almost a quarter of a hash
// (10.9 ms against 8.4 ms with huge pages, in a fresh process here). This
// mmap, which stands in for libc's for the libraries of the program,
// asks for transparent huge pages (MADV_HUGEPAGE, honoured when the
// system's THP mode is "madvise" or "always") on the large private
// anonymous mappings made while a password is hashed; every other
// mapping is made exactly as libc's mmap makes it (the same system call).
// Not under AddressSanitizer, which has its own mmap, and only where the
// mmap system call takes a byte offset (64-bit Linux).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FACTEUR_ASAN 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(FACTEUR_ASAN) && defined(__linux__) && \
    (defined(__x86_64__) || defined(__aarch64__))
namespace {
thread_local bool hashing = false;
}
extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) noexcept {
    long r = syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
    void* p = reinterpret_cast<void*>(r);
    constexpr size_t large = 4u << 20;
    if (hashing && p != MAP_FAILED && fd == -1 && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) && len >= large)
        (void)madvise(p, len, MADV_HUGEPAGE);
    return p;
}
#else
namespace {
bool hashing = false;
}
#endif

namespace mail {
namespace {

// crypt_r with huge pages for its working area (see mmap above).
const char* hash_with(const std::string& phrase, const std::string& setting, crypt_data* data) {
    hashing = true;
    const char* h = crypt_r(phrase.c_str(), setting.c_str(), data);
    hashing = false;
    return h;
}

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
    const char* h = hash_with(std::string(password), salt, data.get());
    if (!h || h[0] == '*') return make_error(Errc::tempfail, "cannot hash password", "crypt_r");
    return std::string(h);
}

bool verify_password(std::string_view password, std::string_view stored) {
    std::string_view hash = strip_scheme(stored);
    if (hash.empty() || hash.front() != '$') return false;
    if (password.find('\0') != std::string_view::npos) return false;
    auto data = std::make_unique<crypt_data>();
    const char* h = hash_with(std::string(password), std::string(hash), data.get());
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
