#include "service/connection_limits.h"

#include "grpc/grpc.h"

namespace ggufd {

void ConnectionLimits::AddTo(grpc::ServerBuilder& builder) const {
  // Unset, gRPC's age, grace and idle limits are infinite: 0 leaves them so.
  if (max_age_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, max_age_ms);
  }
  if (max_age_grace_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               max_age_grace_ms);
  }
  if (max_idle_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, max_idle_ms);
  }
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      min_ping_interval_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, max_ping_strikes);
}

}  // namespace ggufd
