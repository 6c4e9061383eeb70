// Who writes the store. Everything under state_dir (mailboxes, indexes,
// the queue, the directory) belongs to one user, the owner of state_dir;
// a file made by anyone else (root, most often) locks that user out of it.
// A program started as root therefore becomes the owner before it writes
// anything: the servers once their sockets are bound, the other tools
// when their configuration is read.
//
// mail-smtpd, which faces the internet, may run as a user of its own
// (smtpd.user) whose group is the store's (the owner's primary group). The
// modes below give that group what mail-smtpd needs and no more; mail/,
// dkim/, secret.key and the other databases stay the owner's alone:
//
//   state_dir                 0710  passed through, not listed
//   directory.sqlite (-wal, -shm)  0640  read: domains, addresses, password hashes
//   queue/                    0710
//   queue/tmp/, queue/mess/   3770  sticky and set-group-ID: a member adds its
//                                   own files (0640) and removes no other's
//   queue/state/              0700
//   auth/                     2770  failed logins, counted by every server
//   auth/auth.sqlite (...)    0660
//   reports/                  2770  DMARC evaluations, recorded by mail-smtpd
//   reports/dmarc.sqlite (...) 0660
//   policy/                   2770  greylisting's triplets, kept by mail-smtpd
//   policy/greylist.sqlite (...) 0660
//   tls/                      0710  the default certificate: cert.pem and
//   tls/cert.pem, tls/key.pem 0640  key.pem, read by every server
#pragma once

#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/result.hpp"
#include "base/sqlite.hpp"

namespace mail {

// As root: switch (groups, gid, uid) to the owner of cfg.state_dir, unless
// root owns it (a store run as root) or it does not exist yet (mail-admin
// init makes it). Not root: nothing to do. Errc::noperm when the switch
// fails.
Status become_store_owner(const Config& cfg);

// A database that mail-smtpd, under a user of its own, writes through the
// store's group (auth/, reports/, policy/): its directory made 2770 when
// missing (a store older than it), the file 0660; `schema` run once open.
Result<Db> open_group_db(const std::string& path, std::string_view schema = {});

// load_config(), then become_store_owner().
Result<Config> load_config_as_owner(const std::optional<std::string>& path);

// As root: switch to user `name` (its groups, its primary group, its uid).
// Not root: nothing to do. Errc::config when there is no such user,
// Errc::noperm when the switch fails.
Status become_user(const std::string& name);

// The modes of the table above, compared with the store: one line for each
// difference ("queue/mess is 0700, should be 3770"), a missing directory of
// the table or a symbolic link. With `fix`, missing directories are made and
// modes set (never through a link), and only what could not be fixed is
// returned. Paths that do not exist yet (a database not made) are skipped.
std::vector<std::string> store_modes(const Config& cfg, bool fix);

} // namespace mail
