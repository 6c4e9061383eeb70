// Fuzz Maildir file-name and folder-name handling: no name that passes the
// check may map outside the mailbox.
#include <cstdint>
#include <string>
#include <string_view>

#include "store/maildir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto n = mail::maildir::split_name(in);
    (void)mail::maildir::join_name(n);
    (void)mail::maildir::size_from_name(in);
    if (mail::maildir::valid_folder_name(in)) {
        std::string p = mail::maildir::folder_path("/m", in);
        if (p.find("/..") != std::string::npos || p.find('\0') != std::string::npos ||
            p.compare(0, 2, "/m") != 0)
            __builtin_trap();
    }
    return 0;
}
