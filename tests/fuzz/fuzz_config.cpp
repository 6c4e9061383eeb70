// Fuzz the facteur.toml reader (toml++ plus our key checks) in every
// section: the first byte picks a section the rest is read under, so that
// short inputs ("max_age = ...") reach each section's keys and checks.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    (void)mail::parse_config(in, "fuzz.toml");
    (void)mail::parse_size(in);
    if (size > 0) {
        static const char* const sections[] = {"",      "[delivery]\n", "[smtpd]\n", "[queue]\n",
                                               "[fetch]\n", "[outbound]\n", "[tls]\n",   "[imapd]\n"};
        std::string text = sections[data[0] % 8] + std::string(in.substr(1));
        if (auto c = mail::parse_config(text, "fuzz.toml")) {
            if (c->delivery.recipient_delimiter.size() > 1) __builtin_trap();
            if (c->queue.workers < 1 || c->fetch.max_parallel < 1) __builtin_trap();
        }
    }
    return 0;
}
