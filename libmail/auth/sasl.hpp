// SASL pieces shared by SMTP, IMAP and POP3: the PLAIN message
// (RFC 4616), checking a login against the directory, and the growing
// delay after failed logins.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/config.hpp"
#include "base/encoding.hpp"
#include "base/sqlite.hpp"
#include "directory/directory.hpp"

namespace mail {

struct Credentials {
    std::string authzid, user, password;
};
// "authzid\0user\0password" -> credentials; nullopt when malformed.
std::optional<Credentials> parse_plain(std::string_view decoded);

// The canonical mailbox address for user/password, or nullopt for a wrong
// user or password. Unknown users cost a hash computation too, so timing
// does not tell them apart. An error when the directory could not answer
// (busy, I/O): a temporary failure, which the caller answers as such
// (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]) without
// counting a failed login.
// What an unknown user's password is checked against: one yescrypt hash
// with hash_password()'s parameters, the price of a known user. A fixed
// hash of a forgotten random password (one made per process cost every
// forked session a second hash).
inline constexpr std::string_view decoy_hash =
    "$y$j9T$xbC1TIH/09b6VQx5dlLgp0$D5IHtISf3CLy8gYSRb02CCvr00WO7glsYkXu8gjSNS4";

// The password hash runs in a HashSlot of <state>/auth (cfg.state_dir).
Result<std::optional<std::string>> check_login(const Config& cfg, Directory& dir, std::string_view user,
                                               std::string_view password);

// At most one password hash per online CPU at a time, across every process:
// a lock file per CPU in `dir` (auth/hash.N.lock), held while hashing; the
// waiters queue on auth/hash.queue.lock, the first taking whichever slot
// frees first. A burst of logins then takes the CPUs in turn rather than
// all at once, so the commands of sessions already open still get their
// share. Without the lock files (unwritable), no limit.
class HashSlot {
  public:
    explicit HashSlot(const std::string& dir, bool wait = true);
    ~HashSlot();
    HashSlot(const HashSlot&) = delete;
    HashSlot& operator=(const HashSlot&) = delete;
    bool held() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

// Failed logins, shared by every process through <state>/auth/auth.sqlite
// (0660: mail-smtpd under a user of its own writes it too, base/owner.hpp): the
// delay before answering a failure grows with the failures of the client
// address and of the account in the last 15 minutes (1 s, 2 s, 4 s ... 15 s).
// <state>/auth/auth.sqlite, made 0660 with auth/ 2770 when missing.
Result<Db> open_auth_db(const std::string& path);

// Logged-in sessions of one user from one address (Dovecot's
// mail_max_userip_connections), counted across processes in auth.sqlite
// (table sessions: pid, user, ip). A session's row stays until its process
// is gone, which the next count finds (kill(pid, 0)). true: this process
// is counted in; false: `max` others are there already. `auth` is
// auth.sqlite (LoginPenalty::database()).
Result<bool> take_session_slot(Db& auth, const std::string& user, const std::string& ip, int max);

class LoginPenalty {
  public:
    explicit LoginPenalty(const Config& cfg) : path_(cfg.auth_db_path()) {}
    // Seconds to wait before answering this failure (after recording it).
    int fail(const std::string& ip, const std::string& user);
    // fail(), a log line under `tag`, and the wait itself: the caller then
    // answers the failure (after flushing what it already owed the client).
    void wait_after_failure(const std::string& ip, const std::string& user, std::string_view tag);
    void success(const std::string& user);
    // Close auth.sqlite (a long session needs it no more).
    void release() { db_.reset(); }
    // auth.sqlite, opened once for all a login needs of it; nullptr (and
    // logged) when it cannot be opened.
    Db* database() { return db(); }

  private:
    Db* db();
    std::string path_;
    std::optional<Db> db_;
};

} // namespace mail
