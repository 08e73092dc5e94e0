#include "service/security/admin_only_interceptor.h"

#include <grpc/grpc.h>

#include <string>
#include <string_view>

#include "runtime/error_code.h"

namespace ggufd::security {
namespace {

// gRPC's services that must not be open to everyone.
bool AdminOnly(std::string_view method) {
  return method.starts_with("/grpc.reflection.") ||
         method.starts_with("/grpc.channelz.");
}

class AdminOnlyInterceptor final : public grpc::experimental::Interceptor {
 public:
  AdminOnlyInterceptor(grpc::experimental::ServerRpcInfo* info,
                       const AccessGuard& guard)
      : info_(info), guard_(guard) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_CANCEL)) {
      return;  // must not be delayed, and needs no Proceed
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Check(*methods->GetRecvInitialMetadata());
    }
    methods->Proceed();
  }

 private:
  void Check(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
    grpc::ServerContextBase* context = info_->server_context();
    const std::shared_ptr<const grpc::AuthContext> auth =
        context->auth_context();
    absl::StatusOr<Caller> caller = guard_.Identify(md, auth.get());
    absl::Status refusal = caller.status();
    if (refusal.ok() && !caller->admin()) {
      refusal = MakeError(ErrorCode::kAccessDenied,
                          "reflection and channelz need the admin role");
    }
    if (refusal.ok()) return;
    const std::string method = info_->method();
    guard_.CountRefusal(method.substr(1), refusal, context->peer());
    const std::string message(refusal.message());
    grpc_call_cancel_with_status(context->c_call(),
                                 static_cast<grpc_status_code>(refusal.code()),
                                 message.c_str(), nullptr);
  }

  grpc::experimental::ServerRpcInfo* const info_;
  const AccessGuard& guard_;
};

}  // namespace

grpc::experimental::Interceptor*
AdminOnlyInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  if (!AdminOnly(info->method())) return nullptr;
  return new AdminOnlyInterceptor(info, guard_);
}

}  // namespace ggufd::security
