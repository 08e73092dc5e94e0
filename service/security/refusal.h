// Ending a call that the access checks or limits refused, before any
// handler runs: the status goes out with its ErrorInfo as a trailers-only
// response and is counted and logged (the rpc line) like every finished
// RPC.
#ifndef GGUFD_SERVICE_SECURITY_REFUSAL_H_
#define GGUFD_SERVICE_SECURITY_REFUSAL_H_

#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "service/service_state.h"

namespace ggufd::security {

// Sets the trailers that go with `status`: a RESOURCE_EXHAUSTED that is not
// QUEUE_FULL (a message too large, a quota) gets
// `grpc-retry-pushback-ms: -1`, which tells gRPC retry policies (the
// clients retry RESOURCE_EXHAUSTED for the full queue) not to retry.
void AddRefusalTrailers(grpc::CallbackServerContext* context,
                        const absl::Status& status);

// The grpc::Status for `status`, counted under `method` and logged.
grpc::Status CountedStatus(ServiceState& state, std::string_view method,
                           const absl::Status& status);

grpc::ServerUnaryReactor* RefuseUnary(ServiceState& state,
                                      grpc::CallbackServerContext* context,
                                      std::string_view method,
                                      const absl::Status& status);

// A server-streaming reactor that finishes at once.
template <typename Event>
class RefusedStream final : public grpc::ServerWriteReactor<Event> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Event>
grpc::ServerWriteReactor<Event>* RefuseStream(
    ServiceState& state, grpc::CallbackServerContext* context,
    std::string_view method, const absl::Status& status) {
  AddRefusalTrailers(context, status);
  return new RefusedStream<Event>(CountedStatus(state, method, status));
}

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_REFUSAL_H_
