// Outgoing TCP connections (outbound SMTP, mail-fetch): a connect with a
// time limit, then a blocking socket with TCP_NODELAY and per-operation
// timeouts, so that a stalled peer makes a read or write fail.
#pragma once

#include <string>

#include "base/files.hpp"

namespace mail::net {

// A numeric IPv4 or IPv6 address.
Result<Fd> connect_address(const std::string& address, int port, int timeout);
// A host name or address, through the system's resolver (/etc/hosts, DNS);
// each address in turn until one answers.
Result<Fd> connect_host(const std::string& host, int port, int timeout);
// SO_RCVTIMEO and SO_SNDTIMEO.
void set_socket_timeout(int fd, int seconds);

} // namespace mail::net
