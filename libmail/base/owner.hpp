// Who writes the store. Everything under state_dir (mailboxes, indexes,
// the queue, the directory) belongs to one user, the owner of state_dir;
// a file made by anyone else (root, most often) locks that user out of it.
// A program started as root therefore becomes the owner before it writes
// anything: the servers once their sockets are bound, the other tools
// when their configuration is read.
#pragma once

#include "base/config.hpp"
#include "base/result.hpp"

namespace mail {

// As root: switch (groups, gid, uid) to the owner of cfg.state_dir, unless
// root owns it (a store run as root) or it does not exist yet (mail-admin
// init makes it). Not root: nothing to do. Errc::noperm when the switch
// fails.
Status become_store_owner(const Config& cfg);

// load_config(), then become_store_owner().
Result<Config> load_config_as_owner(const std::optional<std::string>& path);

} // namespace mail
