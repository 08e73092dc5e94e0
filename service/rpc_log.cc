#include "service/rpc_log.h"

#include <utility>

#include "runtime/error_code.h"
#include "service/service_metrics.h"
#include "service/status_mapping.h"

namespace ggufd {

void LogRpc(ServiceState& state, const RpcCall& call,
            const absl::Status& status) {
  const std::string code = GrpcCodeName(static_cast<int>(status.code()));
  state.metrics->CountRequest(call.method, code);
  nlohmann::json fields = {
      {"method", call.method},
      {"code", code},
      {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - call.start)}};
  if (!call.runtime.empty()) fields["runtime"] = call.runtime;
  if (!call.request_id.empty()) fields["request_id"] = call.request_id;
  if (!status.ok()) {
    fields["error_code"] = static_cast<int>(GetErrorCode(status));
    fields["error"] = TruncateMessage(status.message(), kMaxStatusMessageBytes);
  }
  if (call.extra.is_object()) fields.update(call.extra);
  state.log->Info("rpc", std::move(fields));
}

}  // namespace ggufd
