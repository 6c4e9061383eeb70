#include "base/confine.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/files.hpp"
#include "base/log.hpp"

namespace mail {

namespace {

// The rights of Landlock ABI 1 and 2 (the kernels of Debian 12 and later).
constexpr uint64_t read_rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t write_rights =
    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG;
constexpr uint64_t other_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                                  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;

int landlock_abi() {
    return static_cast<int>(syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION));
}

Status allow(int ruleset, const std::string& path, uint64_t rights) {
    Fd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd) return sys_error("open", path);
    landlock_path_beneath_attr rule{};
    rule.allowed_access = rights;
    rule.parent_fd = fd.get();
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
        return sys_error("landlock_add_rule", path);
    return {};
}

} // namespace

Result<bool> confine_to(const std::string& dir) {
    int abi = landlock_abi();
    if (abi < 1) {
        static bool said = false;
        if (!said) log::info("confine", "no Landlock in this kernel ({}): the session is not confined", std::strerror(errno));
        said = true;
        return false;
    }
    // Renames between tmp/, new/ and cur/ need REFER once the kernel knows it.
    uint64_t refer = abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0;
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = read_rights | write_rights | other_rights | refer;
    Fd ruleset(static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0)));
    if (!ruleset) return sys_error("landlock_create_ruleset", dir);
    MAIL_TRY(allow(ruleset.get(), dir, read_rights | write_rights | refer));
    MAIL_TRY(allow(ruleset.get(), "/usr", read_rights | LANDLOCK_ACCESS_FS_EXECUTE));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sys_error("prctl(NO_NEW_PRIVS)", dir);
    if (syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) return sys_error("landlock_restrict_self", dir);
    return true;
}

} // namespace mail
