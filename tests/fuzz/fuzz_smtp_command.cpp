// Fuzz the SMTP command line parser: verb, path, ESMTP parameters, xtext.
#include <cstdint>
#include <string_view>

#include "message/address.hpp"
#include "smtp/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto c = mail::smtp::parse_command(in);
    for (const char* kw : {"FROM:", "TO:"})
        if (auto p = mail::smtp::parse_path_arg(c.arg, kw)) {
            (void)mail::parse_path("<" + p->path + ">");
            for (auto& param : p->params)
                if (auto x = mail::smtp::decode_xtext(param.value))
                    if (mail::smtp::decode_xtext(mail::smtp::encode_xtext(*x)).value() != *x)
                        __builtin_trap();
        }
    return 0;
}
