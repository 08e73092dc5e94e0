// Limits gRPC's own reflection and channelz services to admins when
// authentication is on. They are registered by gRPC's plugins, so the
// guarded-service wrappers cannot reach them; a server interceptor can see
// each call's metadata and peer. gRPC C++ server interceptors cannot finish
// a call with a status of their own, so a refused call is cancelled with
// PERMISSION_DENIED or UNAUTHENTICATED (no ErrorInfo: gRPC's cancel carries
// only a code and a message). The handler still runs, on a call that can no
// longer read or send anything.
#ifndef GGUFD_SERVICE_SECURITY_ADMIN_ONLY_INTERCEPTOR_H_
#define GGUFD_SERVICE_SECURITY_ADMIN_ONLY_INTERCEPTOR_H_

#include "grpcpp/support/server_interceptor.h"
#include "service/security/access_guard.h"

namespace ggufd::security {

class AdminOnlyInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AdminOnlyInterceptorFactory(const AccessGuard& guard)
      : guard_(guard) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const AccessGuard& guard_;
};

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_ADMIN_ONLY_INTERCEPTOR_H_
