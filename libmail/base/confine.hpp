// After its login an IMAP or POP3 session serves one mailbox, yet as the
// store's owner it could open every other one. Landlock (Linux 5.13 and
// later, no privilege needed) takes the rest of the file system away from
// the process for good, so that a hole in the session's code reaches that
// mailbox and nothing else. A kernel without Landlock leaves the process
// as it is: the confinement is a second wall, never a reason to refuse.
#pragma once

#include <string>

#include "base/result.hpp"

namespace mail {

// From now on this process (and any child) may read, write, make and
// remove files only beneath `dir`, and read and map the system's
// libraries under /usr (iconv's modules are loaded on first use); every
// other path is refused with EACCES. true when Landlock enforces it,
// false when the kernel has none (logged). An error when Landlock is
// there but the rules could not be set.
Result<bool> confine_to(const std::string& dir);

} // namespace mail
