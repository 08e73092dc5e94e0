// The admin-only services: Runtime, Diagnostics and TestHooks.
#include "runtime/common/str_cat.h"
#include "service/security/guarded_services.h"
#include "service/security/refusal.h"
#include "service/status_mapping.h"

namespace ggufd::security {
namespace {

// Admits `request` to an admin-only unary `method` and runs `next`.
template <typename Request, typename Next>
grpc::ServerUnaryReactor* AdminUnary(Guards& guards,
                                     grpc::CallbackServerContext* context,
                                     std::string_view method,
                                     const Request& request, Next next) {
  return AdmitUnary(guards, context, method, Role::kAdmin, request, next);
}

}  // namespace

grpc::ServerWriteReactor<v1::LoadModelEvent>* GuardedRuntime::LoadModel(
    grpc::CallbackServerContext* context, const v1::LoadModelRequest* request) {
  constexpr char kMethod[] = "Runtime/LoadModel";
  auto caller = guards_.access.Admit(*context, kMethod, Role::kAdmin, *request);
  if (!caller.ok()) {
    return RefuseStream<v1::LoadModelEvent>(guards_.state, context, kMethod,
                                            caller.status());
  }
  return inner_.LoadModel(context, request);
}

grpc::ServerUnaryReactor* GuardedRuntime::Configure(
    grpc::CallbackServerContext* context, const v1::ConfigureRequest* request,
    v1::ConfigureResponse* response) {
  constexpr char kMethod[] = "Runtime/Configure";
  return AdminUnary(guards_, context, kMethod, *request, [&] {
    absl::Status within =
        CheckConfigureLimits(*request, guards_.limits, *guards_.state.metrics);
    if (!within.ok()) {
      return RefuseUnary(guards_.state, context, kMethod, within);
    }
    return inner_.Configure(context, request, response);
  });
}

grpc::ServerUnaryReactor* GuardedRuntime::Reset(
    grpc::CallbackServerContext* context, const v1::ResetRequest* request,
    v1::ResetResponse* response) {
  return AdminUnary(guards_, context, "Runtime/Reset", *request,
                    [&] { return inner_.Reset(context, request, response); });
}

grpc::ServerUnaryReactor* GuardedRuntime::Release(
    grpc::CallbackServerContext* context, const v1::ReleaseRequest* request,
    v1::ReleaseResponse* response) {
  return AdminUnary(guards_, context, "Runtime/Release", *request,
                    [&] { return inner_.Release(context, request, response); });
}

grpc::ServerUnaryReactor* GuardedRuntime::GetModelInfo(
    grpc::CallbackServerContext* context,
    const v1::GetModelInfoRequest* request, v1::ModelInfo* response) {
  return AdminUnary(guards_, context, "Runtime/GetModelInfo", *request, [&] {
    return inner_.GetModelInfo(context, request, response);
  });
}

grpc::ServerUnaryReactor* GuardedRuntime::CreateRuntime(
    grpc::CallbackServerContext* context,
    const v1::CreateRuntimeRequest* request, v1::RuntimeInfo* response) {
  constexpr char kMethod[] = "Runtime/CreateRuntime";
  return AdminUnary(guards_, context, kMethod, *request, [&] {
    // The registry enforces the same limit atomically; checking here too
    // lets the refusal carry the do-not-retry trailer.
    const size_t limit = guards_.limits.max_runtimes;
    if (limit > 0 && guards_.state.registry->List().size() >= limit) {
      guards_.state.metrics->CountLimitRejection("runtimes");
      return RefuseUnary(
          guards_.state, context, kMethod,
          ServiceError(absl::StatusCode::kResourceExhausted,
                       ErrorCode::kLimitExceeded,
                       StrCat("at most ", limit,
                              " runtimes may exist on this server "
                              "(--max-runtimes); delete one first")));
    }
    return inner_.CreateRuntime(context, request, response);
  });
}

grpc::ServerUnaryReactor* GuardedRuntime::DeleteRuntime(
    grpc::CallbackServerContext* context,
    const v1::DeleteRuntimeRequest* request,
    v1::DeleteRuntimeResponse* response) {
  return AdminUnary(guards_, context, "Runtime/DeleteRuntime", *request, [&] {
    return inner_.DeleteRuntime(context, request, response);
  });
}

grpc::ServerUnaryReactor* GuardedRuntime::ListRuntimes(
    grpc::CallbackServerContext* context,
    const v1::ListRuntimesRequest* request,
    v1::ListRuntimesResponse* response) {
  return AdminUnary(guards_, context, "Runtime/ListRuntimes", *request, [&] {
    return inner_.ListRuntimes(context, request, response);
  });
}

grpc::ServerUnaryReactor* GuardedDiagnostics::GetStatus(
    grpc::CallbackServerContext* context, const v1::GetStatusRequest* request,
    v1::RuntimeStatus* response) {
  return AdminUnary(guards_, context, "Diagnostics/GetStatus", *request, [&] {
    return inner_.GetStatus(context, request, response);
  });
}

grpc::ServerWriteReactor<v1::RuntimeStatus>* GuardedDiagnostics::WatchStatus(
    grpc::CallbackServerContext* context,
    const v1::WatchStatusRequest* request) {
  constexpr char kMethod[] = "Diagnostics/WatchStatus";
  auto caller = guards_.access.Admit(*context, kMethod, Role::kAdmin, *request);
  if (!caller.ok()) {
    return RefuseStream<v1::RuntimeStatus>(guards_.state, context, kMethod,
                                           caller.status());
  }
  return inner_.WatchStatus(context, request);
}

grpc::ServerUnaryReactor* GuardedTestHooks::InjectFault(
    grpc::CallbackServerContext* context, const v1::InjectFaultRequest* request,
    v1::InjectFaultResponse* response) {
  return AdminUnary(guards_, context, "TestHooks/InjectFault", *request, [&] {
    return inner_.InjectFault(context, request, response);
  });
}

}  // namespace ggufd::security
