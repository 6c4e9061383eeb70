#include "base/owner.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.hpp"
#include "base/log.hpp"

namespace mail {

namespace {

// Groups, gid, then uid, for good: root cannot be taken back.
Status switch_to(const passwd* pw, uid_t uid, gid_t gid, const std::string& who) {
    auto refused = [&](const char* what) {
        return make_error(Errc::noperm, fmt::format("cannot become {} (uid {})", who, uid),
                          fmt::format("{}: {}", what, std::strerror(errno)));
    };
    if (pw ? initgroups(pw->pw_name, gid) != 0 : setgroups(1, &gid) != 0) return refused("setgroups");
    if (setgid(gid) != 0) return refused("setgid");
    if (setuid(uid) != 0) return refused("setuid");
    if (setuid(0) == 0) return refused("setuid (root could be taken back)");
    log::info("owner", "running as {} (uid {}, gid {})", who, uid, gid);
    return {};
}

} // namespace

Status become_store_owner(const Config& cfg) {
    if (geteuid() != 0) return {};
    struct stat st;
    if (stat(cfg.state_dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return sys_error("stat", cfg.state_dir);
    }
    if (st.st_uid == 0) return {};
    const passwd* pw = getpwuid(st.st_uid);
    std::string who = fmt::format("{}, the owner of {}", pw ? pw->pw_name : "?", cfg.state_dir);
    return switch_to(pw, st.st_uid, pw ? pw->pw_gid : st.st_gid, who);
}

Status become_user(const std::string& name) {
    if (geteuid() != 0) return {};
    errno = 0;
    const passwd* pw = getpwnam(name.c_str());
    if (!pw) return make_error(Errc::config, "no such user: " + name, errno ? std::strerror(errno) : "");
    if (pw->pw_uid == 0) return make_error(Errc::config, "refusing to run as root: " + name);
    return switch_to(pw, pw->pw_uid, pw->pw_gid, name);
}

namespace {

struct ModeRule {
    const char* path; // under state_dir; "" is state_dir itself
    unsigned mode;
    bool required;    // a directory every store has
};

constexpr ModeRule mode_rules[] = {
    {"", 0710, true},
    {"directory.sqlite", 0640, false},
    {"directory.sqlite-wal", 0640, false},
    {"directory.sqlite-shm", 0640, false},
    {"queue", 0710, true},
    {"queue/tmp", 03770, true},
    {"queue/mess", 03770, true},
    {"queue/state", 0700, true},
    {"auth", 02770, true},
    {"auth/auth.sqlite", 0660, false},
    {"auth/auth.sqlite-wal", 0660, false},
    {"auth/auth.sqlite-shm", 0660, false},
    {"reports", 02770, true},
    {"reports/dmarc.sqlite", 0660, false},
    {"reports/dmarc.sqlite-wal", 0660, false},
    {"reports/dmarc.sqlite-shm", 0660, false},
    {"policy", 02770, true},
    {"policy/greylist.sqlite", 0660, false},
    {"policy/greylist.sqlite-wal", 0660, false},
    {"policy/greylist.sqlite-shm", 0660, false},
    {"policy/ratelimit.sqlite", 0660, false},
    {"policy/ratelimit.sqlite-wal", 0660, false},
    {"policy/ratelimit.sqlite-shm", 0660, false},
    {"tls", 0710, false},
    {"tls/cert.pem", 0640, false},
    {"tls/key.pem", 0640, false},
};

Status set_mode(const std::string& path, unsigned mode) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return sys_error("open", path);
    if (::fchmod(fd.get(), mode) != 0) return sys_error("fchmod", path);
    return {};
}

// One rule: "" when the path is right (or fixed, or not there yet).
std::string check_rule(const Config& cfg, const ModeRule& r, bool fix) {
    std::string path = *r.path ? cfg.state_dir + "/" + r.path : cfg.state_dir;
    std::string name = *r.path ? r.path : cfg.state_dir;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT || !r.required) return "";
        if (!fix) return name + " is missing";
        if (::mkdir(path.c_str(), 0700) != 0 || ::lstat(path.c_str(), &st) != 0)
            return fmt::format("{}: mkdir: {}", name, std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) return name + " is a symbolic link";
    unsigned have = st.st_mode & 07777;
    if (have == r.mode) return "";
    std::string problem = fmt::format("{} is {:04o}, should be {:04o}", name, have, r.mode);
    if (!fix) return problem;
    Status set = set_mode(path, r.mode);
    return set ? "" : problem + ": " + set.error().detail;
}

} // namespace

std::vector<std::string> store_modes(const Config& cfg, bool fix) {
    std::vector<std::string> out;
    for (const ModeRule& r : mode_rules) {
        // Only the default certificate lives in the store.
        if (std::string_view(r.path).starts_with("tls") && !cfg.tls.cert.empty()) continue;
        if (std::string p = check_rule(cfg, r, fix); !p.empty()) out.push_back(std::move(p));
    }
    return out;
}

Result<Config> load_config_as_owner(const std::optional<std::string>& path) {
    auto cfg = load_config(path);
    if (!cfg) return cfg;
    MAIL_TRY(become_store_owner(*cfg));
    return cfg;
}

Result<Db> open_group_db(const std::string& path, std::string_view schema) {
    std::string dir = path.substr(0, path.rfind('/'));
    if (::mkdir(dir.c_str(), 0700) == 0) ::chmod(dir.c_str(), 02770);
    auto db = Db::open(path, Db::Sync::normal, Db::Access::create, 0660);
    if (!db) return db.error();
    if (!schema.empty()) MAIL_TRY(db->exec(schema));
    return db;
}

} // namespace mail
