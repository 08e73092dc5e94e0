#include "service/active_requests.h"
#include "service/proto_convert.h"
#include "service/runtime_call.h"
#include "service/security/guarded_services.h"
#include "service/security/refusal.h"

namespace ggufd::security {

grpc::ServerWriteReactor<v1::GenerateEvent>* GuardedInference::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  constexpr char kMethod[] = "Inference/Generate";
  ServiceState& state = guards_.state;
  auto caller =
      guards_.access.Admit(*context, kMethod, Role::kInference, *request);
  absl::Status admitted = caller.status();
  if (admitted.ok()) {
    admitted = guards_.CheckGenerate(kMethod, *caller, *request);
  }
  if (!admitted.ok()) {
    return RefuseStream<v1::GenerateEvent>(state, context, kMethod, admitted);
  }
  return inner_.Generate(context, request);
}

grpc::ServerUnaryReactor* GuardedInference::Tokenize(
    grpc::CallbackServerContext* context, const v1::TokenizeRequest* request,
    v1::TokenizeResponse* response) {
  return AdmitUnary(
      guards_, context, "Inference/Tokenize", Role::kInference, *request,
      [&] { return inner_.Tokenize(context, request, response); });
}

grpc::ServerUnaryReactor* GuardedInference::Detokenize(
    grpc::CallbackServerContext* context, const v1::DetokenizeRequest* request,
    v1::DetokenizeResponse* response) {
  return AdmitUnary(
      guards_, context, "Inference/Detokenize", Role::kInference, *request,
      [&] { return inner_.Detokenize(context, request, response); });
}

grpc::ServerUnaryReactor* GuardedInference::Embed(
    grpc::CallbackServerContext* context, const v1::EmbedRequest* request,
    v1::EmbedResponse* response) {
  return AdmitUnary(guards_, context, "Inference/Embed", Role::kInference,
                    *request,
                    [&] { return inner_.Embed(context, request, response); });
}

grpc::ServerUnaryReactor* GuardedInference::Cancel(
    grpc::CallbackServerContext* context, const v1::CancelRequest* request,
    v1::CancelResponse* response) {
  constexpr char kMethod[] = "Inference/Cancel";
  ServiceState& state = guards_.state;
  auto caller =
      guards_.access.Admit(*context, kMethod, Role::kInference, *request);
  if (!caller.ok())
    return RefuseUnary(state, context, kMethod, caller.status());
  // Admins (and everyone without authentication) cancel any request; a
  // malformed id is the handler's to refuse.
  if (!guards_.access.enabled() || caller->admin() ||
      !IsValidRequestId(request->request_id())) {
    return inner_.Cancel(context, request, response);
  }
  const auto result =
      state.requests->CancelOwned(request->request_id(), caller->name);
  if (!result.has_value()) {
    return RefuseUnary(
        state, context, kMethod,
        guards_.access.Deny(kMethod, *caller,
                            "the request belongs to another caller"));
  }
  ToProto(*result, *response);
  return FinishNow(state, context, kMethod, absl::OkStatus());
}

}  // namespace ggufd::security
