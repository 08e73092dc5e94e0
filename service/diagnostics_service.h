// ggufd.v1.Diagnostics on gRPC's callback API. GetStatus answers from the
// snapshot each worker publishes after every command, so it never waits
// behind a long generation (unless the client asks for a fresh answer).
#ifndef GGUFD_SERVICE_DIAGNOSTICS_SERVICE_H_
#define GGUFD_SERVICE_DIAGNOSTICS_SERVICE_H_

#include "ggufd/v1/diagnostics.grpc.pb.h"
#include "service/service_state.h"

namespace ggufd {

class DiagnosticsService final : public v1::Diagnostics::CallbackService {
 public:
  explicit DiagnosticsService(ServiceState& state) : state_(state) {}

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::RuntimeStatus* response) override;
  grpc::ServerWriteReactor<v1::RuntimeStatus>* WatchStatus(
      grpc::CallbackServerContext* context,
      const v1::WatchStatusRequest* request) override;

 private:
  ServiceState& state_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_DIAGNOSTICS_SERVICE_H_
