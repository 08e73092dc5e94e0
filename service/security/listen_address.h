// Listen addresses (host:port, [v6]:port, unix:path): their parts, and
// whether one is reachable only from this machine (for the warning ggufd
// prints when it serves beyond loopback without authentication).
#ifndef GGUFD_SERVICE_SECURITY_LISTEN_ADDRESS_H_
#define GGUFD_SERVICE_SECURITY_LISTEN_ADDRESS_H_

#include <string_view>

namespace ggufd::security {

// The host of a host:port or [v6]:port listen address, brackets removed
// ("" when there is none).
std::string_view ListenHost(std::string_view listen);

// The port of a host:port listen address; 0 for a unix socket, port 0 or
// no port.
int ListenPort(std::string_view listen);

// True for 127.0.0.0/8, ::1, localhost and unix sockets; false for the
// wildcard addresses, every other host and an empty host.
bool IsLoopbackListen(std::string_view listen);

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_LISTEN_ADDRESS_H_
