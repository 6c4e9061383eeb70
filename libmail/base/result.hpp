// One result type for all of libmail. An Error carries a sysexits-style
// code (so a tool can exit with it directly), a message safe to show to a
// client or user, and a detail (paths, errno text) meant only for the log.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace mail {

// Values are those of <sysexits.h> so that a tool can exit with them.
enum class Errc {
    usage = 64,       // EX_USAGE
    data = 65,        // EX_DATAERR: malformed input, invalid address
    noinput = 66,     // EX_NOINPUT
    nouser = 67,      // EX_NOUSER: no such domain, address or mailbox
    unavailable = 69, // EX_UNAVAILABLE: refused by policy
    software = 70,    // EX_SOFTWARE: a bug
    cantcreat = 73,   // EX_CANTCREAT: already exists / cannot create
    ioerr = 74,       // EX_IOERR: reading the input failed
    tempfail = 75,    // EX_TEMPFAIL: I/O, database, may work later
    noperm = 77,      // EX_NOPERM
    config = 78,      // EX_CONFIG
};

struct Error {
    Errc code = Errc::tempfail;
    std::string user;   // shown to the user or client
    std::string detail; // logged only
    int sys = 0;        // the errno of a failed system call, 0 for other errors
    // A full disk or quota (ENOSPC, EDQUOT): worth its own reply (452 4.3.1).
    bool no_space() const { return sys == ENOSPC || sys == EDQUOT; }
};

// The one mapping from a library error to a process exit status: the
// sysexits value the Errc carries.
inline int exit_status(Errc code) { return static_cast<int>(code); }
inline int exit_status(const Error& e) { return exit_status(e.code); }

inline Error make_error(Errc code, std::string user, std::string detail = {}) {
    return Error{code, std::move(user), std::move(detail)};
}

// An I/O failure: always temporary; the detail names the path and errno.
inline Error sys_error(std::string_view what, std::string_view path, int err = errno) {
    return Error{Errc::tempfail, "temporary local problem",
                 std::string(what) + " " + std::string(path) + ": " + std::strerror(err), err};
}

template <typename T> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error e) : err_(std::move(e)), ok_(false) {}
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return err_; }

  private:
    Error err_;
    bool ok_ = true;
};

using Status = Result<void>;

} // namespace mail

// Propagate an error from an expression returning Result<...>.
#define MAIL_TRY(expr)                                                                             \
    do {                                                                                           \
        auto&& mail_try_r_ = (expr);                                                               \
        if (!mail_try_r_) return mail_try_r_.error();                                              \
    } while (0)
