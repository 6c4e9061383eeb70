// Fuzz the mapping of a remote IMAP folder name (any bytes, any delimiter)
// to a local Maildir++ folder: the result must always be a name the store
// accepts, so that no remote name can reach outside the mailbox.
#include <cstdint>
#include <string_view>

#include "fetch/sync.hpp"
#include "store/maildir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    mail::fetch::imap::ListEntry e;
    e.delimiter = static_cast<char>(data[0]);
    e.name.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (size > 2 && data[1] == 'S') e.flags.push_back("\\Sent");
    for (const char* into : {"", "Old", "Old/Inner"}) {
        std::string local = mail::fetch::local_folder(e, into);
        if (!mail::maildir::valid_folder_name(local)) __builtin_trap();
    }
    return 0;
}
