#include "service/runtime_service.h"

#include <utility>

#include "service/load_model_reactor.h"
#include "service/proto_convert.h"
#include "service/runtime_call.h"
#include "service/status_mapping.h"

namespace ggufd {

grpc::ServerWriteReactor<v1::LoadModelEvent>* RuntimeService::LoadModel(
    grpc::CallbackServerContext* context, const v1::LoadModelRequest* request) {
  return new LoadModelReactor(state_, context, *request);
}

grpc::ServerUnaryReactor* RuntimeService::Configure(
    grpc::CallbackServerContext* context, const v1::ConfigureRequest* request,
    v1::ConfigureResponse* response) {
  constexpr char kMethod[] = "Runtime/Configure";
  auto sampling = ParseSampling(request->sampling(), "sampling");
  if (!sampling.ok()) {
    return FinishNow(state_, context, kMethod, sampling.status());
  }
  auto stopping = ParseStopping(request->stopping(), "stopping");
  if (!stopping.ok()) {
    return FinishNow(state_, context, kMethod, stopping.status());
  }
  GenerationOverrides overrides{.sampling = *std::move(sampling),
                                .stopping = *std::move(stopping)};
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "configure",
      [overrides = std::move(overrides), response](
          Runtime& runtime, const CommandContext&) -> absl::Status {
        // Checks that need the vocabulary come back tagged with their field
        // (a logit-bias or stop token outside it).
        if (absl::Status s = runtime.Configure(overrides); !s.ok()) {
          return WithTaggedFieldViolation(s);
        }
        ToProto(runtime.defaults().sampling, *response->mutable_sampling());
        ToProto(runtime.defaults().stopping, *response->mutable_stopping());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RuntimeService::Reset(
    grpc::CallbackServerContext* context, const v1::ResetRequest* request,
    v1::ResetResponse*) {
  return RunOnRuntime(
      state_, context, "Runtime/Reset", request->runtime(), "reset",
      [](Runtime& runtime, const CommandContext&) { return runtime.Reset(); });
}

grpc::ServerUnaryReactor* RuntimeService::Release(
    grpc::CallbackServerContext* context, const v1::ReleaseRequest* request,
    v1::ReleaseResponse*) {
  return RunOnRuntime(state_, context, "Runtime/Release", request->runtime(),
                      "release", [](Runtime& runtime, const CommandContext&) {
                        return runtime.Release();
                      });
}

grpc::ServerUnaryReactor* RuntimeService::GetModelInfo(
    grpc::CallbackServerContext* context,
    const v1::GetModelInfoRequest* request, v1::ModelInfo* response) {
  return RunOnRuntime(
      state_, context, "Runtime/GetModelInfo", request->runtime(), "model_info",
      [response, name = request->runtime()](
          Runtime& runtime, const CommandContext&) -> absl::Status {
        auto info = runtime.GetModelInfo();
        if (!info.ok()) return info.status();
        ToProto(
            *info,
            name.empty() ? std::string(RuntimeRegistry::kDefaultName) : name,
            *response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RuntimeService::CreateRuntime(
    grpc::CallbackServerContext* context,
    const v1::CreateRuntimeRequest* request, v1::RuntimeInfo* response) {
  constexpr char kMethod[] = "Runtime/CreateRuntime";
  if (absl::Status s = state_.CheckAdmission(); !s.ok()) {
    return FinishNow(state_, context, kMethod, s);
  }
  if (request->queue_capacity() < 0) {
    return FinishNow(state_, context, kMethod,
                     InvalidField("queue_capacity", "must be >= 0"));
  }
  auto worker = state_.registry->Create(
      request->name(), static_cast<size_t>(request->queue_capacity()));
  if (!worker.ok()) return FinishNow(state_, context, kMethod, worker.status());
  ToRuntimeInfo((*worker)->Snapshot(), *response);
  state_.log->Info("runtime created", {{"runtime", request->name()}});
  return FinishNow(state_, context, kMethod, absl::OkStatus());
}

grpc::ServerUnaryReactor* RuntimeService::DeleteRuntime(
    grpc::CallbackServerContext* context,
    const v1::DeleteRuntimeRequest* request, v1::DeleteRuntimeResponse*) {
  constexpr char kMethod[] = "Runtime/DeleteRuntime";
  absl::Status deleted = state_.registry->Delete(request->name());
  if (deleted.ok()) {
    state_.metrics->ForgetWorker(request->name());
    state_.log->Info("runtime deleted", {{"runtime", request->name()}});
  }
  return FinishNow(state_, context, kMethod, deleted);
}

grpc::ServerUnaryReactor* RuntimeService::ListRuntimes(
    grpc::CallbackServerContext* context, const v1::ListRuntimesRequest*,
    v1::ListRuntimesResponse* response) {
  for (const auto& worker : state_.registry->List()) {
    ToRuntimeInfo(worker->Snapshot(), *response->add_runtimes());
  }
  return FinishNow(state_, context, "Runtime/ListRuntimes", absl::OkStatus());
}

}  // namespace ggufd
