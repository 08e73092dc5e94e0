#include "service/cli/connection_flags.h"

#include <climits>

namespace ggufd::cli {

void AddConnectionFlags(CLI::App& cmd, ConnectionLimits& limits) {
  // Negative values are refused by name; INT_MAX ms is gRPC's own bound.
  const auto non_negative = CLI::Range(0, INT_MAX);
  cmd.add_option("--max-connection-age-ms", limits.max_age_ms,
                 "Send GOAWAY on a connection this old (+-10% jitter), so "
                 "clients reconnect and an L4 balancer spreads them over new "
                 "replicas; calls in flight go on within the grace "
                 "(0 = never)")
      ->envname("GGUFD_MAX_CONNECTION_AGE_MS")
      ->check(non_negative)
      ->capture_default_str();
  cmd.add_option("--max-connection-age-grace-ms", limits.max_age_grace_ms,
                 "How long calls in flight at that GOAWAY may still run "
                 "before the connection closes under them. A streamed "
                 "generation can take many minutes (8192 tokens at 5 "
                 "tokens/s: 27 min), so the default covers that; shorter "
                 "cuts long generations (0 = as long as they take)")
      ->envname("GGUFD_MAX_CONNECTION_AGE_GRACE_MS")
      ->check(non_negative)
      ->capture_default_str();
  cmd.add_option("--max-connection-idle-ms", limits.max_idle_ms,
                 "Send GOAWAY on a connection without calls for this long; "
                 "the client reconnects on its next call (0 = never)")
      ->envname("GGUFD_MAX_CONNECTION_IDLE_MS")
      ->check(non_negative)
      ->capture_default_str();
  cmd.add_option("--keepalive-min-ping-interval-ms",
                 limits.min_ping_interval_ms,
                 "Client pings without data closer together than this are "
                 "strikes (0 = any rate is fine); clients should ping no "
                 "more often")
      ->envname("GGUFD_KEEPALIVE_MIN_PING_INTERVAL_MS")
      ->check(non_negative)
      ->capture_default_str();
  cmd.add_option("--keepalive-max-ping-strikes", limits.max_ping_strikes,
                 "Strikes before the client gets GOAWAY too_many_pings "
                 "(0 = no limit)")
      ->envname("GGUFD_KEEPALIVE_MAX_PING_STRIKES")
      ->check(non_negative)
      ->capture_default_str();
}

}  // namespace ggufd::cli
