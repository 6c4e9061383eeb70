// DKIM signing (RFC 6376, relaxed/relaxed; Ed25519-SHA256 per RFC 8463).
// Pure: a message and keys in, DKIM-Signature fields out. The message is
// taken in its stored form and canonicalized as it will be sent (CRLF for
// every line end, as smtp::DotStuffer writes it).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace mail::dkim {

enum class Algorithm { rsa_sha256, ed25519_sha256 };
const char* algorithm_name(Algorithm a); // "rsa-sha256", "ed25519-sha256"
Result<Algorithm> parse_algorithm(std::string_view name);

struct Key {
    std::string domain, selector;
    Algorithm algorithm = Algorithm::rsa_sha256;
    std::shared_ptr<EVP_PKEY> pkey;
};

// A new private key: RSA 2048 or Ed25519.
Result<Key> generate(Algorithm a);
// The private key as PKCS#8 PEM, and loading it back.
Result<std::string> private_pem(const Key& k);
Result<Key> load_pem(std::string_view pem, Algorithm a);
// The p= value of the DNS record: base64 of the SubjectPublicKeyInfo
// (RSA) or of the raw 32-byte public key (Ed25519, RFC 8463).
Result<std::string> public_value(const Key& k);
// The TXT record text: "v=DKIM1; k=rsa; p=...".
std::string txt_record(Algorithm a, const std::string& p);

// Relaxed canonical forms (RFC 6376 3.4.2 and 3.4.4).
std::string relaxed_header(std::string_view name, std::string_view value);
std::string relaxed_body(std::string_view body);

// The DKIM-Signature fields (LF line ends, folded) for `message` with each
// key, to be placed before the message's header. `now`: the t= tag.
Result<std::string> sign(std::string_view message, const std::vector<Key>& keys, int64_t now);

} // namespace mail::dkim
