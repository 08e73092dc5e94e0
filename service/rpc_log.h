// The one account of a finished RPC, whatever its kind (unary, streaming,
// or a call through the HTTP door): the requests metric and the "rpc" log
// line, with the same fields for every method.
#ifndef GGUFD_SERVICE_RPC_LOG_H_
#define GGUFD_SERVICE_RPC_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "service/service_state.h"

namespace ggufd {

// What the rpc line says of a call besides its status.
struct RpcCall {
  std::string method;              // "Inference/Generate", "Runtime/Reset", ...
  std::string runtime;             // the runtime's name, once known
  std::string request_id;          // once known (Generate, Embed)
  absl::Time start = absl::Now();  // when the call arrived
  nlohmann::json extra;            // the method's own fields ("path", ...)
};

// Counts `call` under its method and code, and logs its "rpc" line:
// method, runtime and request_id when known, code, duration_ms, and for a
// failure error_code and error (cut to kMaxStatusMessageBytes), plus
// `call.extra`.
void LogRpc(ServiceState& state, const RpcCall& call,
            const absl::Status& status);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_RPC_LOG_H_
