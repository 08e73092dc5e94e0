#include "service/security/refusal.h"

#include "runtime/error_code.h"
#include "service/rpc_log.h"
#include "service/status_mapping.h"

namespace ggufd::security {

void AddRefusalTrailers(grpc::CallbackServerContext* context,
                        const absl::Status& status) {
  if (status.code() == absl::StatusCode::kResourceExhausted &&
      GetErrorCode(status) != ErrorCode::kQueueFull) {
    context->AddTrailingMetadata("grpc-retry-pushback-ms", "-1");
  }
}

grpc::Status CountedStatus(ServiceState& state, std::string_view method,
                           const absl::Status& status) {
  LogRpc(state, {.method = std::string(method)}, status);
  return ToGrpcStatus(status);
}

grpc::ServerUnaryReactor* RefuseUnary(ServiceState& state,
                                      grpc::CallbackServerContext* context,
                                      std::string_view method,
                                      const absl::Status& status) {
  AddRefusalTrailers(context, status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(CountedStatus(state, method, status));
  return reactor;
}

}  // namespace ggufd::security
