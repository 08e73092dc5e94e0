// The checks every ggufd RPC passes before its handler runs: who is calling
// (a bearer token, else a client certificate, looked up in the auth file),
// whether its role allows the method, and whether the request is within
// --max-receive-message-bytes. Refusals carry ErrorInfo (UNAUTHENTICATED,
// ACCESS_DENIED, MESSAGE_TOO_LARGE), are logged and counted in metrics.
//
// Without an auth file authentication is off and every caller is an
// anonymous admin; the size check still applies.
#ifndef GGUFD_SERVICE_SECURITY_ACCESS_GUARD_H_
#define GGUFD_SERVICE_SECURITY_ACCESS_GUARD_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "service/json_log.h"
#include "service/security/principals.h"
#include "service/service_metrics.h"

namespace ggufd::security {

struct Caller {
  std::string name;  // the principal; "" when authentication is off
  Role role = Role::kAdmin;
  bool admin() const { return role == Role::kAdmin; }
};

class AccessGuard {
 public:
  struct Options {
    // Null: authentication is off.
    PrincipalStore* principals = nullptr;
    // Largest serialized request a handler accepts (0 = no check).
    size_t max_message_bytes = 0;
  };

  AccessGuard(Options options, ServiceMetrics& metrics, JsonLog& log)
      : options_(options), metrics_(metrics), log_(log) {}

  bool enabled() const { return options_.principals != nullptr; }

  // Who is calling. A bearer token (`authorization: Bearer <token>`) wins
  // over a client certificate; a token that is present but unknown is
  // refused rather than falling back to the certificate.
  absl::StatusOr<Caller> Identify(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context) const;
  absl::StatusOr<Caller> Identify(const grpc::ServerContextBase& context) const;

  // Identify, then the role `needed` and the size of `request`. A refusal
  // is logged and counted under `method` ("Inference/Generate").
  absl::StatusOr<Caller> Admit(const grpc::ServerContextBase& context,
                               std::string_view method, Role needed,
                               const google::protobuf::Message& request) const;
  // The same for a call that did not come through gRPC (the HTTP door):
  // its `authorization` headers as metadata, no certificate, and `peer` for
  // the log.
  absl::StatusOr<Caller> Admit(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context, std::string_view peer,
      std::string_view method, Role needed,
      const google::protobuf::Message& request) const;

  // ACCESS_DENIED for `caller` on `method` (an ownership check the caller
  // made), logged and counted like Admit's refusals.
  absl::Status Deny(std::string_view method, const Caller& caller,
                    std::string_view why) const;
  // Logs and counts an authentication refusal decided elsewhere (the
  // interceptor of gRPC's own services).
  void CountRefusal(std::string_view method, const absl::Status& status,
                    std::string_view peer) const;

 private:
  const Options options_;
  ServiceMetrics& metrics_;
  JsonLog& log_;
};

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_ACCESS_GUARD_H_
