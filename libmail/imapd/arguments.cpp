#include "arguments.hpp"

#include <sys/stat.h>

#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

std::optional<int64_t> mod_sequence(const Value& v) {
    if (v.kind != Value::Kind::atom || v.text.empty() || v.text.size() > 19) return std::nullopt;
    uint64_t n = 0;
    for (char ch : v.text) {
        if (ch < '0' || ch > '9') return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (n > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(n);
}

bool folder_exists(const std::string& root, const std::string& name) {
    return maildir::real_folder(maildir::folder_path(root, name));
}

bool strip_utf8_open(std::string& before) {
    std::string_view b = before;
    while (b.ends_with(' ')) b.remove_suffix(1);
    if (!b.ends_with("(")) return false;
    b.remove_suffix(1);
    while (b.ends_with(' ')) b.remove_suffix(1);
    if (b.size() < 5 || !iequals(b.substr(b.size() - 4), "UTF8") || b[b.size() - 5] != ' ') return false;
    before.resize(b.size() - 4);
    return true;
}

} // namespace mail::imap
