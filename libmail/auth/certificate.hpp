// A self-signed certificate so that TLS works from the first start; the
// administrator replaces it with a real one (tls.cert / tls.key).
#pragma once

#include <string>

#include "base/result.hpp"

namespace mail {

// Write an EC P-256 key (mode 0600) and a self-signed certificate for
// `host`, valid ten years, to the given paths.
Status make_self_signed(const std::string& host, const std::string& cert_path,
                        const std::string& key_path);

} // namespace mail
