// How long the server keeps client connections, and how often clients may
// ping them. gRPC clients hold one HTTP/2 connection for as long as it
// works, so behind an L4 balancer (a Kubernetes Service, a cloud TCP load
// balancer) every client stays on the replica it first reached and new
// replicas get no traffic. A maximum connection age makes the server send
// GOAWAY: the client opens a new connection (which the balancer places
// anew) for its next calls, while calls in flight finish on the old one
// within the grace. Streaming generations are long, so the grace is long.
#ifndef GGUFD_SERVICE_CONNECTION_LIMITS_H_
#define GGUFD_SERVICE_CONNECTION_LIMITS_H_

#include "grpcpp/server_builder.h"

namespace ggufd {

struct ConnectionLimits {
  // GOAWAY after this long (gRPC adds +-10% jitter so that clients do not
  // reconnect all at once); 0 = never.
  int max_age_ms = 10 * 60 * 1000;
  // Calls in flight at GOAWAY may run this much longer before the
  // connection closes under them; 0 = as long as they take. Covers a whole
  // 8192-token context generated at 5 tokens/s (27 minutes).
  int max_age_grace_ms = 30 * 60 * 1000;
  // GOAWAY after this long without calls; 0 = never.
  int max_idle_ms = 5 * 60 * 1000;
  // Pings without data closer together than this are strikes; 0 = any.
  int min_ping_interval_ms = 10 * 1000;
  // Strikes before the client gets GOAWAY (too_many_pings); 0 = no limit.
  int max_ping_strikes = 2;

  // Sets the channel arguments that enforce these on the server's ports.
  void AddTo(grpc::ServerBuilder& builder) const;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_CONNECTION_LIMITS_H_
