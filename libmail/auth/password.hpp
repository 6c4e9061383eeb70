// Password hashes through libxcrypt. New hashes are yescrypt ("$y$").
// Verification accepts anything crypt(3) knows ($y$, $6$, $5$, $2b$/$2y$,
// ...) and the Dovecot scheme prefixes {CRYPT}, {SHA512-CRYPT},
// {SHA256-CRYPT}, {BLF-CRYPT}, {MD5-CRYPT}, so Dovecot users can be imported.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mail {

Result<std::string> hash_password(std::string_view password);
// Constant-time comparison of the computed and stored hash.
bool verify_password(std::string_view password, std::string_view stored);
// Whether `stored` is a hash this module can verify.
bool known_hash_scheme(std::string_view stored);

} // namespace mail
