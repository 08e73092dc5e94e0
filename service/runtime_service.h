// ggufd.v1.Runtime (the control plane) on gRPC's callback API.
#ifndef GGUFD_SERVICE_RUNTIME_SERVICE_H_
#define GGUFD_SERVICE_RUNTIME_SERVICE_H_

#include "ggufd/v1/runtime.grpc.pb.h"
#include "service/service_state.h"

namespace ggufd {

class RuntimeService final : public v1::Runtime::CallbackService {
 public:
  explicit RuntimeService(ServiceState& state) : state_(state) {}

  grpc::ServerWriteReactor<v1::LoadModelEvent>* LoadModel(
      grpc::CallbackServerContext* context,
      const v1::LoadModelRequest* request) override;
  grpc::ServerUnaryReactor* Configure(grpc::CallbackServerContext* context,
                                      const v1::ConfigureRequest* request,
                                      v1::ConfigureResponse* response) override;
  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* context,
                                  const v1::ResetRequest* request,
                                  v1::ResetResponse* response) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* context,
                                    const v1::ReleaseRequest* request,
                                    v1::ReleaseResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* CreateRuntime(
      grpc::CallbackServerContext* context,
      const v1::CreateRuntimeRequest* request,
      v1::RuntimeInfo* response) override;
  grpc::ServerUnaryReactor* DeleteRuntime(
      grpc::CallbackServerContext* context,
      const v1::DeleteRuntimeRequest* request,
      v1::DeleteRuntimeResponse* response) override;
  grpc::ServerUnaryReactor* ListRuntimes(
      grpc::CallbackServerContext* context,
      const v1::ListRuntimesRequest* request,
      v1::ListRuntimesResponse* response) override;

 private:
  ServiceState& state_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_RUNTIME_SERVICE_H_
