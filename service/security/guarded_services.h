// The services ggufd registers with gRPC: each wraps the service that does
// the work and runs the access checks and request limits first, so every
// method of the API is guarded in one place and a method added to the proto
// without a guard answers UNIMPLEMENTED rather than running unchecked.
//
//   inference role: Inference (Cancel only of its own requests), Sessions
//                   List/Delete/Fork (only sessions it created)
//   admin role:     everything above on anyone's requests and sessions, the
//                   Runtime and Diagnostics services, Save/RestoreSession,
//                   TestHooks
// Health is served by gRPC itself and is never guarded.
#ifndef GGUFD_SERVICE_SECURITY_GUARDED_SERVICES_H_
#define GGUFD_SERVICE_SECURITY_GUARDED_SERVICES_H_

#include <string_view>

#include "absl/status/status.h"
#include "ggufd/v1/diagnostics.grpc.pb.h"
#include "ggufd/v1/inference.grpc.pb.h"
#include "ggufd/v1/runtime.grpc.pb.h"
#include "ggufd/v1/sessions.grpc.pb.h"
#include "ggufd/v1/testing.grpc.pb.h"
#include "service/security/access_guard.h"
#include "service/security/refusal.h"
#include "service/security/request_limits.h"
#include "service/security/session_owners.h"
#include "service/service_state.h"

namespace ggufd::security {

// What the guarded services share.
struct Guards {
  ServiceState& state;
  const AccessGuard& access;
  SessionOwners& owners;
  RequestLimits limits;

  // Whether `caller` may use session `id` of runtime `runtime_name`, and
  // when `create` (a turn or a fork target) claims an unclaimed id for it.
  // Sessions nobody claimed but that exist (restored by an admin without an
  // id) are the admins'.
  absl::Status UseSession(std::string_view method, const Caller& caller,
                          std::string_view runtime_name, std::string_view id,
                          bool create);
  // Whether `caller` owns session `id` of `runtime` (always for admins).
  bool Owns(const Caller& caller, std::string_view runtime,
            std::string_view id) const;
  // The checks of a Generate once its caller is admitted, whichever door it
  // came through (gRPC, or the HTTP door's converted request): the request
  // limits, and the session's owner (a new id is claimed for `caller`).
  absl::Status CheckGenerate(std::string_view method, const Caller& caller,
                             const v1::GenerateRequest& request);
};

// Admits `request` to the unary `method` for callers with role `needed` and
// runs `next`, or finishes the call with the refusal.
template <typename Request, typename Next>
grpc::ServerUnaryReactor* AdmitUnary(Guards& guards,
                                     grpc::CallbackServerContext* context,
                                     std::string_view method, Role needed,
                                     const Request& request, Next next) {
  auto caller = guards.access.Admit(*context, method, needed, request);
  if (!caller.ok()) {
    return RefuseUnary(guards.state, context, method, caller.status());
  }
  return next();
}

class GuardedInference final : public v1::Inference::CallbackService {
 public:
  GuardedInference(v1::Inference::CallbackService& inner, Guards& guards)
      : inner_(inner), guards_(guards) {}

  grpc::ServerWriteReactor<v1::GenerateEvent>* Generate(
      grpc::CallbackServerContext* context,
      const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(
      grpc::CallbackServerContext* context,
      const v1::DetokenizeRequest* request,
      v1::DetokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* context,
                                   const v1::CancelRequest* request,
                                   v1::CancelResponse* response) override;
  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* context,
                                  const v1::EmbedRequest* request,
                                  v1::EmbedResponse* response) override;

 private:
  v1::Inference::CallbackService& inner_;
  Guards& guards_;
};

class GuardedSessions final : public v1::Sessions::CallbackService {
 public:
  GuardedSessions(v1::Sessions::CallbackService& inner, Guards& guards)
      : inner_(inner), guards_(guards) {}

  grpc::ServerUnaryReactor* ListSessions(
      grpc::CallbackServerContext* context,
      const v1::ListSessionsRequest* request,
      v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSession(
      grpc::CallbackServerContext* context,
      const v1::DeleteSessionRequest* request,
      v1::DeleteSessionResponse* response) override;
  grpc::ServerUnaryReactor* ForkSession(grpc::CallbackServerContext* context,
                                        const v1::ForkSessionRequest* request,
                                        v1::SessionInfo* response) override;
  grpc::ServerUnaryReactor* SaveSession(
      grpc::CallbackServerContext* context,
      const v1::SaveSessionRequest* request,
      v1::SaveSessionResponse* response) override;
  grpc::ServerUnaryReactor* RestoreSession(
      grpc::CallbackServerContext* context,
      const v1::RestoreSessionRequest* request,
      v1::SessionInfo* response) override;

 private:
  v1::Sessions::CallbackService& inner_;
  Guards& guards_;
};

class GuardedRuntime final : public v1::Runtime::CallbackService {
 public:
  GuardedRuntime(v1::Runtime::CallbackService& inner, Guards& guards)
      : inner_(inner), guards_(guards) {}

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
  v1::Runtime::CallbackService& inner_;
  Guards& guards_;
};

class GuardedDiagnostics final : public v1::Diagnostics::CallbackService {
 public:
  GuardedDiagnostics(v1::Diagnostics::CallbackService& inner, Guards& guards)
      : inner_(inner), guards_(guards) {}

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::RuntimeStatus* response) override;
  grpc::ServerWriteReactor<v1::RuntimeStatus>* WatchStatus(
      grpc::CallbackServerContext* context,
      const v1::WatchStatusRequest* request) override;

 private:
  v1::Diagnostics::CallbackService& inner_;
  Guards& guards_;
};

class GuardedTestHooks final : public v1::TestHooks::CallbackService {
 public:
  GuardedTestHooks(v1::TestHooks::CallbackService& inner, Guards& guards)
      : inner_(inner), guards_(guards) {}

  grpc::ServerUnaryReactor* InjectFault(
      grpc::CallbackServerContext* context,
      const v1::InjectFaultRequest* request,
      v1::InjectFaultResponse* response) override;

 private:
  v1::TestHooks::CallbackService& inner_;
  Guards& guards_;
};

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_GUARDED_SERVICES_H_
