#include "maildir.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/files.hpp"
#include "base/log.hpp"

namespace mail::maildir {

namespace {
std::atomic<unsigned> delivery_counter{0};
constexpr int max_name_attempts = 20;
} // namespace

std::string unique_name(std::string_view host, size_t size, std::string_view tag) {
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    std::string h;
    for (char c : host) {
        if (c == '/') h += "\\057";
        else if (c == ':') h += "\\072";
        else h += c;
    }
    return fmt::format("{}.M{}P{}Q{}{}{}.{},S={}", tv.tv_sec, tv.tv_usec, getpid(), delivery_counter++,
                       tag.empty() ? "" : "_", tag, h, size);
}

std::string normalize_flags(std::string_view flags) {
    std::string out;
    for (char c : flags) {
        bool std_flag = c == 'D' || c == 'F' || c == 'P' || c == 'R' || c == 'S' || c == 'T';
        if ((std_flag || (c >= 'a' && c <= 'z')) && out.find(c) == std::string::npos) out += c;
    }
    std::sort(out.begin(), out.end());
    return out;
}

FileName split_name(std::string_view filename) {
    size_t colon = filename.find(":2,");
    if (colon == std::string_view::npos) {
        // Some tools use ':' only for info; anything after ':' that is not "2," is ignored.
        return {std::string(filename.substr(0, filename.find(':'))), ""};
    }
    return {std::string(filename.substr(0, colon)), normalize_flags(filename.substr(colon + 3))};
}

std::string join_name(const FileName& n) { return n.base + ":2," + n.flags; }

long long size_from_name(std::string_view base) {
    size_t p = base.find(",S=");
    if (p == std::string_view::npos) return -1;
    long long n = 0;
    size_t i = p + 3, digits = 0;
    for (; i < base.size() && base[i] >= '0' && base[i] <= '9' && digits < 18; i++, digits++)
        n = n * 10 + (base[i] - '0');
    return digits ? n : -1;
}

bool is_inbox(std::string_view folder) {
    return folder.empty() || (folder.size() == 5 && (folder[0] | 0x20) == 'i' &&
                              (folder[1] | 0x20) == 'n' && (folder[2] | 0x20) == 'b' &&
                              (folder[3] | 0x20) == 'o' && (folder[4] | 0x20) == 'x');
}

bool valid_folder_name(std::string_view name) {
    if (is_inbox(name)) return true;
    if (name.size() > 255) return false;
    size_t start = 0;
    while (start <= name.size()) {
        size_t slash = name.find('/', start);
        std::string_view comp = name.substr(start, slash == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : slash - start);
        if (comp.empty() || comp == "new" || comp == "cur" || comp == "tmp" || comp == "~" ||
            comp.front() == '~')
            return false;
        for (char c : comp) {
            auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f || c == '.' || c == '\\' || c == '*' || c == '%') return false;
        }
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return true;
}

std::string folder_path(const std::string& root, std::string_view folder) {
    if (is_inbox(folder)) return root;
    std::string dir(folder);
    std::replace(dir.begin(), dir.end(), '/', '.');
    return root + "/." + dir;
}

bool valid_mailbox_dirname(std::string_view local) {
    if (local.empty() || local.size() > 64 || local.front() == '.') return false;
    for (char c : local) {
        auto u = static_cast<unsigned char>(c);
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || u >= 0x80;
        if (!ok) return false;
    }
    return true;
}

Status create_folder(const std::string& root, std::string_view folder) {
    if (!valid_folder_name(folder))
        return make_error(Errc::data, "invalid folder name '" + std::string(folder) + "'");
    std::string dir = folder_path(root, folder);
    for (const char* sub : {"tmp", "new", "cur"}) MAIL_TRY(make_dirs(dir + "/" + sub));
    if (!is_inbox(folder)) {
        std::string marker = dir + "/maildirfolder";
        Fd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return sys_error("create", marker);
        MAIL_TRY(fd.close(marker));
    }
    MAIL_TRY(fsync_dir(dir));
    return fsync_dir(dir_of(dir));
}

Status create_mailbox(const std::string& root) {
    MAIL_TRY(make_dirs(root));
    MAIL_TRY(create_folder(root, "INBOX"));
    for (auto& f : default_folders) MAIL_TRY(create_folder(root, f));
    return fsync_dir(dir_of(root));
}

FolderKind folder_kind(const std::string& folder_dir) {
    for (const char* sub : {"", "/cur", "/new", "/tmp"}) {
        std::string p = folder_dir + sub;
        struct stat st;
        if (lstat(p.c_str(), &st) != 0) {
            bool needed = !*sub || std::string_view(sub) == "/cur"; // a folder is known by its cur/
            if (errno == ENOENT) {
                if (needed) return FolderKind::missing;
                continue;
            }
            log::warn("store.folder", "{}: {}; refused", p, std::strerror(errno));
            return FolderKind::refused;
        }
        if (!S_ISDIR(st.st_mode)) {
            log::warn("store.symlink", "{} is {}; refused (the store never follows a link)", p,
                      S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
            return FolderKind::refused;
        }
    }
    return FolderKind::real;
}

Result<std::vector<std::string>> list_folders(const std::string& root) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(root.c_str()), closedir);
    if (!d) return sys_error("opendir", root);
    std::vector<std::string> out;
    while (auto* e = readdir(d.get())) {
        std::string_view n = e->d_name;
        if (n.size() < 2 || n[0] != '.' || n == "..") continue;
        std::string name(n.substr(1));
        std::replace(name.begin(), name.end(), '.', '/');
        if (valid_folder_name(name) && real_folder(root + "/" + std::string(n))) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    out.insert(out.begin(), "INBOX");
    return out;
}

void DirSync::add(std::string dir) { dirs_.insert(std::move(dir)); }

Status DirSync::sync() {
    for (auto it = dirs_.begin(); it != dirs_.end(); it = dirs_.erase(it)) MAIL_TRY(fsync_dir(*it));
    return {};
}

Result<MessageFile> MessageFile::create(const std::string& folder_dir, std::string_view host, std::string_view tag) {
    if (!real_folder(folder_dir))
        return make_error(Errc::tempfail, "temporary local problem",
                          folder_dir + " is missing or a symbolic link: not written into");
    for (int attempt = 0; attempt < max_name_attempts; attempt++) {
        auto f = DurableFile::create(folder_dir + "/tmp/" + unique_name(host, 0, tag));
        if (f) return MessageFile(std::move(*f), folder_dir, std::string(host), std::string(tag));
        if (f.error().code != Errc::cantcreat) return f.error();
    }
    return make_error(Errc::tempfail, "temporary local problem", "no unique file name in " + folder_dir + "/tmp");
}

Result<std::string> MessageFile::commit(std::string_view flags, bool cur, DirSync* later) {
    cur = cur || !flags.empty();
    std::string sub = cur ? "/cur" : "/new";
    for (int attempt = 0; attempt < max_name_attempts; attempt++) {
        std::string base = unique_name(host_, static_cast<size_t>(file_.size()), tag_);
        std::string path = dir_ + sub + "/" + (cur ? join_name({base, std::string(flags)}) : base);
        Status st = file_.commit_new(path);
        if (!st && st.error().code == Errc::cantcreat) continue; // taken: another name
        if (!st) return st.error();
        if (later) {
            later->add(dir_ + sub);
            return base;
        }
        if (Status synced = fsync_dir(dir_ + sub); !synced) {
            ::unlink(path.c_str()); // not durable, so not delivered
            return synced.error();
        }
        return base;
    }
    return make_error(Errc::tempfail, "temporary local problem", "no unique file name in " + dir_ + sub);
}

Result<std::string> deliver(const std::string& folder_dir, std::string_view host,
                            const std::vector<std::string_view>& parts, std::string_view flags) {
    auto f = MessageFile::create(folder_dir, host);
    if (!f) return f.error();
    for (auto p : parts) MAIL_TRY(f->write(p));
    return f->commit(flags);
}

} // namespace mail::maildir

namespace mail {
std::string mailbox_root(const Config& cfg, const Address& a) {
    return cfg.mail_root() + "/" + a.domain + "/" + ascii_lower(a.local);
}
} // namespace mail
