// ggufd.v1.Sessions: the control plane over the conversations each runtime
// keeps (runtime/session). Everything but ListSessions runs on the
// runtime's own worker, queued behind its work.
#ifndef GGUFD_SERVICE_SESSIONS_SERVICE_H_
#define GGUFD_SERVICE_SESSIONS_SERVICE_H_

#include "ggufd/v1/sessions.grpc.pb.h"
#include "service/service_state.h"

namespace ggufd {

class SessionsService final : public v1::Sessions::CallbackService {
 public:
  explicit SessionsService(ServiceState& state) : state_(state) {}

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
  ServiceState& state_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_SESSIONS_SERVICE_H_
