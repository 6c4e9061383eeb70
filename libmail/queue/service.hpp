// The delivery service of `mail-queue run` (deliver/request.hpp): each
// local worker also takes mail-deliver's requests on the service socket
// and delivers them with its own agent, whose directory and mailbox
// indexes stay open from one delivery to the next.
#pragma once

#include "base/config.hpp"
#include "base/files.hpp"
#include "queue/runner.hpp"

namespace mail::queue {

// The listening socket (non-blocking, 0600), an old one replaced: only the
// runner holding the queue lock calls this.
Result<Fd> listen_service(const Config& cfg);

// One request on an accepted connection: the message read from the passed
// descriptor, delivered, the answer sent. The caller closes `conn`.
void serve_delivery(const Config& cfg, Runner& runner, int conn);

} // namespace mail::queue
