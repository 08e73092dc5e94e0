#include "absl/status/statusor.h"
#include "service/proto_convert.h"
#include "service/runtime_call.h"
#include "service/security/guarded_services.h"
#include "service/security/refusal.h"

namespace ggufd::security {

grpc::ServerUnaryReactor* GuardedSessions::ListSessions(
    grpc::CallbackServerContext* context,
    const v1::ListSessionsRequest* request,
    v1::ListSessionsResponse* response) {
  constexpr char kMethod[] = "Sessions/ListSessions";
  ServiceState& state = guards_.state;
  auto caller =
      guards_.access.Admit(*context, kMethod, Role::kInference, *request);
  if (!caller.ok())
    return RefuseUnary(state, context, kMethod, caller.status());
  if (!guards_.access.enabled() || caller->admin()) {
    return inner_.ListSessions(context, request, response);
  }
  // Only the caller's own sessions, from the same snapshot the handler
  // reads; the totals stay the runtime's (they name no session).
  auto worker = state.registry->Find(request->runtime());
  if (!worker.ok()) return FinishNow(state, context, kMethod, worker.status());
  const WorkerSnapshot snapshot = (*worker)->Snapshot();
  const Diagnostics& d = snapshot.diagnostics;
  for (const SessionInfo& info : d.sessions) {
    if (guards_.Owns(*caller, snapshot.name, info.id)) {
      ToProto(info, snapshot.name, *response->add_sessions());
    }
  }
  response->set_kv_bytes(d.session_stats.kv_bytes);
  response->set_kv_budget_bytes(d.session_stats.budget_bytes);
  return FinishNow(state, context, kMethod, absl::OkStatus());
}

namespace {

// Admits `request` for an inference caller that may use the existing
// session `id` of `runtime`.
template <typename Request>
absl::StatusOr<Caller> AdmitOnSession(Guards& guards,
                                      grpc::CallbackServerContext& context,
                                      std::string_view method,
                                      const Request& request) {
  auto caller = guards.access.Admit(context, method, Role::kInference, request);
  if (!caller.ok()) return caller;
  absl::Status usable =
      guards.UseSession(method, *caller, request.runtime(),
                        request.session_id(), /*create=*/false);
  if (!usable.ok()) return usable;
  return caller;
}

}  // namespace

grpc::ServerUnaryReactor* GuardedSessions::DeleteSession(
    grpc::CallbackServerContext* context,
    const v1::DeleteSessionRequest* request,
    v1::DeleteSessionResponse* response) {
  constexpr char kMethod[] = "Sessions/DeleteSession";
  auto caller = AdmitOnSession(guards_, *context, kMethod, *request);
  if (!caller.ok()) {
    return RefuseUnary(guards_.state, context, kMethod, caller.status());
  }
  return inner_.DeleteSession(context, request, response);
}

grpc::ServerUnaryReactor* GuardedSessions::ForkSession(
    grpc::CallbackServerContext* context, const v1::ForkSessionRequest* request,
    v1::SessionInfo* response) {
  constexpr char kMethod[] = "Sessions/ForkSession";
  auto caller = AdmitOnSession(guards_, *context, kMethod, *request);
  absl::Status admitted = caller.status();
  if (admitted.ok()) {
    // The fork is the caller's: its new id is claimed like a new session.
    admitted = guards_.UseSession(kMethod, *caller, request->runtime(),
                                  request->new_session_id(), /*create=*/true);
  }
  if (!admitted.ok()) {
    return RefuseUnary(guards_.state, context, kMethod, admitted);
  }
  return inner_.ForkSession(context, request, response);
}

grpc::ServerUnaryReactor* GuardedSessions::SaveSession(
    grpc::CallbackServerContext* context, const v1::SaveSessionRequest* request,
    v1::SaveSessionResponse* response) {
  // Files under --state-dir are the server's: saving and restoring them is
  // an administrator's act.
  return AdmitUnary(
      guards_, context, "Sessions/SaveSession", Role::kAdmin, *request,
      [&] { return inner_.SaveSession(context, request, response); });
}

grpc::ServerUnaryReactor* GuardedSessions::RestoreSession(
    grpc::CallbackServerContext* context,
    const v1::RestoreSessionRequest* request, v1::SessionInfo* response) {
  constexpr char kMethod[] = "Sessions/RestoreSession";
  auto caller = guards_.access.Admit(*context, kMethod, Role::kAdmin, *request);
  absl::Status admitted = caller.status();
  if (admitted.ok() && !request->session_id().empty()) {
    admitted = guards_.UseSession(kMethod, *caller, request->runtime(),
                                  request->session_id(), /*create=*/true);
  }
  if (!admitted.ok()) {
    return RefuseUnary(guards_.state, context, kMethod, admitted);
  }
  return inner_.RestoreSession(context, request, response);
}

}  // namespace ggufd::security
