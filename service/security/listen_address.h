// Whether a listen address (host:port, [v6]:port) is reachable only from
// this machine, for the warning ggufd prints when it serves beyond loopback
// without authentication.
#ifndef GGUFD_SERVICE_SECURITY_LISTEN_ADDRESS_H_
#define GGUFD_SERVICE_SECURITY_LISTEN_ADDRESS_H_

#include <string_view>

namespace ggufd::security {

// True for 127.0.0.0/8, ::1, localhost and unix sockets; false for the
// wildcard addresses, every other host and an empty host.
bool IsLoopbackListen(std::string_view listen);

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_LISTEN_ADDRESS_H_
