// Secrets the system must keep and use again, such as the passwords of the
// outside accounts that mail-fetch logs in to: sealed with AES-256-GCM under
// a 256-bit key in <state_dir>/secret.key (mode 0600, made by mail-admin
// init). The stored form is text: "v1:" and the base64 of nonce (12 bytes),
// ciphertext and tag (16 bytes). A context string (the account) is
// authenticated with it, so a sealed value cannot be moved to another row.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mail {

class SecretBox {
  public:
    // Errors: noinput when the key file is missing, data when it is not a
    // key, tempfail on I/O.
    static Result<SecretBox> open(const std::string& key_path);
    // A new random key, written durably with mode 0600; nothing when the
    // file exists already.
    static Status create_key(const std::string& key_path);

    Result<std::string> seal(std::string_view plain, std::string_view context) const;
    // Errors: data when the value was altered, belongs to another context
    // or another key.
    Result<std::string> unseal(std::string_view sealed, std::string_view context) const;

  private:
    std::array<unsigned char, 32> key_{};
};

} // namespace mail
