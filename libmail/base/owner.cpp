#include "base/owner.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.hpp"

namespace mail {

Status become_store_owner(const Config& cfg) {
    if (geteuid() != 0) return {};
    struct stat st;
    if (stat(cfg.state_dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return sys_error("stat", cfg.state_dir);
    }
    if (st.st_uid == 0) return {};
    auto refused = [&](const char* what) {
        return make_error(Errc::noperm, fmt::format("cannot become the owner of {} (uid {})", cfg.state_dir, st.st_uid),
                          fmt::format("{}: {}", what, std::strerror(errno)));
    };
    const passwd* pw = getpwuid(st.st_uid);
    gid_t gid = pw ? pw->pw_gid : st.st_gid;
    if (pw ? initgroups(pw->pw_name, gid) != 0 : setgroups(1, &gid) != 0) return refused("setgroups");
    if (setgid(gid) != 0) return refused("setgid");
    if (setuid(st.st_uid) != 0) return refused("setuid");
    if (setuid(0) == 0) return refused("setuid (root could be taken back)");
    log::info("owner", "running as {} (uid {}), the owner of {}", pw ? pw->pw_name : "?", st.st_uid, cfg.state_dir);
    return {};
}

Result<Config> load_config_as_owner(const std::optional<std::string>& path) {
    auto cfg = load_config(path);
    if (!cfg) return cfg;
    MAIL_TRY(become_store_owner(*cfg));
    return cfg;
}

} // namespace mail
