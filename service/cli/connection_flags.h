// The `ggufd serve` flags of ConnectionLimits (connection age, idle and
// ping limits), each with its GGUFD_* environment variable.
#ifndef GGUFD_SERVICE_CLI_CONNECTION_FLAGS_H_
#define GGUFD_SERVICE_CLI_CONNECTION_FLAGS_H_

#include "CLI/CLI.hpp"
#include "service/connection_limits.h"

namespace ggufd::cli {

void AddConnectionFlags(CLI::App& cmd, ConnectionLimits& limits);

}  // namespace ggufd::cli

#endif  // GGUFD_SERVICE_CLI_CONNECTION_FLAGS_H_
