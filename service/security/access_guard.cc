#include "service/security/access_guard.h"

#include <grpc/grpc_security_constants.h>

#include <iterator>
#include <optional>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "service/security/token_hash.h"
#include "service/status_mapping.h"

namespace ggufd::security {
namespace {

constexpr std::string_view kAuthorization = "authorization";

// The peer certificate's names a `cert:` line may match, most specific
// first: every subject alternative name gRPC reports (URI, DNS, e-mail,
// IP), then the subject's common name.
constexpr const char* kIdentityProperties[] = {
    "peer_spiffe_id", "peer_uri", "peer_dns", GRPC_X509_SAN_PROPERTY_NAME,
    GRPC_X509_CN_PROPERTY_NAME};

std::string_view View(grpc::string_ref ref) {
  return std::string_view(ref.data(), ref.size());
}

absl::Status Unauthenticated(std::string_view why) {
  return MakeError(ErrorCode::kUnauthenticated, why);
}

}  // namespace

absl::StatusOr<Caller> AccessGuard::Identify(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  if (!enabled()) return Caller{};
  const std::shared_ptr<const PrincipalTable> table =
      options_.principals->Current();
  auto [first, last] = metadata.equal_range(
      grpc::string_ref(kAuthorization.data(), kAuthorization.size()));
  if (first != last) {
    if (std::next(first) != last) {
      return Unauthenticated("more than one authorization header");
    }
    const std::optional<std::string_view> token =
        BearerToken(View(first->second));
    if (!token.has_value()) {
      return Unauthenticated(
          "the authorization header must be \"Bearer <token>\"");
    }
    const Principal* principal = table->FindTokenHash(Sha256Hex(*token));
    if (principal == nullptr) return Unauthenticated("unknown token");
    return Caller{.name = principal->name, .role = principal->role};
  }
  if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    for (const char* property : kIdentityProperties) {
      for (grpc::string_ref value :
           auth_context->FindPropertyValues(property)) {
        if (const Principal* principal = table->FindCertificate(View(value))) {
          return Caller{.name = principal->name, .role = principal->role};
        }
      }
    }
    return Unauthenticated(
        "the client certificate is not listed in the auth file and no "
        "bearer token was sent");
  }
  return Unauthenticated(
      "no credentials: send \"authorization: Bearer <token>\" metadata or a "
      "client certificate listed in the auth file");
}

absl::StatusOr<Caller> AccessGuard::Identify(
    const grpc::ServerContextBase& context) const {
  if (!enabled()) return Caller{};
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return Identify(context.client_metadata(), auth.get());
}

absl::StatusOr<Caller> AccessGuard::Admit(
    const grpc::ServerContextBase& context, std::string_view method,
    Role needed, const google::protobuf::Message& request) const {
  if (!enabled()) {
    return Admit({}, nullptr, {}, method, needed, request);
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return Admit(context.client_metadata(), auth.get(), context.peer(), method,
               needed, request);
}

absl::StatusOr<Caller> AccessGuard::Admit(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context, std::string_view peer,
    std::string_view method, Role needed,
    const google::protobuf::Message& request) const {
  absl::StatusOr<Caller> caller = Identify(metadata, auth_context);
  if (!caller.ok()) {
    CountRefusal(method, caller.status(), peer);
    return caller.status();
  }
  if (static_cast<int>(caller->role) < static_cast<int>(needed)) {
    return Deny(method, *caller,
                StrCat(method, " needs the ", RoleName(needed),
                       " role; this caller has ", RoleName(caller->role)));
  }
  if (options_.max_message_bytes > 0) {
    const size_t bytes = request.ByteSizeLong();
    if (bytes > options_.max_message_bytes) {
      metrics_.CountLimitRejection("message_bytes");
      return MakeError(
          ErrorCode::kMessageTooLarge,
          StrCat("the request has ", bytes,
                 " bytes; this server accepts at "
                 "most ",
                 options_.max_message_bytes,
                 " (--max-receive-message-bytes). Retrying will not help."));
    }
  }
  return caller;
}

absl::Status AccessGuard::Deny(std::string_view method, const Caller& caller,
                               std::string_view why) const {
  metrics_.CountDenial(method, ErrorCodeName(ErrorCode::kAccessDenied));
  log_.Info("access denied", {{"method", std::string(method)},
                              {"caller", caller.name},
                              {"role", RoleName(caller.role)},
                              {"why", std::string(why)}});
  return MakeError(ErrorCode::kAccessDenied, why);
}

void AccessGuard::CountRefusal(std::string_view method,
                               const absl::Status& status,
                               std::string_view peer) const {
  const std::string_view reason = ErrorCodeName(GetErrorCode(status));
  metrics_.CountDenial(method, reason);
  log_.Info("refused", {{"method", std::string(method)},
                        {"peer", std::string(peer)},
                        {"why", std::string(status.message())}});
}

}  // namespace ggufd::security
