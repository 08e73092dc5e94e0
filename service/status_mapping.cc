#include "service/status_mapping.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "runtime/common/str_cat.h"

namespace ggufd {
namespace {

// Payload keys under which the helpers park details on an absl::Status.
constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kRetryInfoUrl[] = "type.googleapis.com/google.rpc.RetryInfo";

constexpr char kDomain[] = "ggufd";
// Default retry delays: a queue frees a place within a token or two; a
// draining server is replaced within seconds.
constexpr absl::Duration kQueueFullRetry = absl::Milliseconds(200);
constexpr absl::Duration kUnavailableRetry = absl::Seconds(1);

template <typename Message>
bool ParsePayload(const absl::Status& status, const char* url, Message& out) {
  auto payload = status.GetPayload(url);
  return payload.has_value() && out.ParseFromString(std::string(*payload));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

}  // namespace

std::string TruncateMessage(absl::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  size_t cut = max_bytes > 3 ? max_bytes - 3 : 0;
  // Back up over UTF-8 continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(message.substr(0, cut), "...");
}

absl::Status ServiceError(absl::StatusCode canonical, ErrorCode code,
                          absl::string_view message) {
  const absl::Status coded = MakeError(code, std::string(message));
  absl::Status out(canonical, message);
  coded.ForEachPayload([&out](absl::string_view url, const absl::Cord& value) {
    out.SetPayload(url, value);
  });
  return out;
}

absl::Status WithFieldViolation(absl::Status status, absl::string_view field,
                                absl::string_view description) {
  google::rpc::BadRequest bad_request;
  ParsePayload(status, kBadRequestUrl, bad_request);
  auto* violation = bad_request.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(TruncateMessage(description, 256));
  status.SetPayload(kBadRequestUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status WithTaggedFieldViolation(absl::Status status) {
  const std::optional<std::string> field = FieldOf(status);
  if (!field.has_value()) return status;
  const std::string message(status.message());
  return WithFieldViolation(std::move(status), *field, message);
}

absl::Status InvalidField(absl::string_view field,
                          absl::string_view description) {
  return WithFieldViolation(
      MakeError(ErrorCode::kInvalidArgument,
                StrCat(std::string(field), ": ", std::string(description))),
      field, description);
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo retry;
  SetDuration(delay, retry.mutable_retry_delay());
  status.SetPayload(kRetryInfoUrl, absl::Cord(retry.SerializeAsString()));
  return status;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const ErrorCode code = GetErrorCode(status);
  const std::string message =
      TruncateMessage(status.message(), kMaxStatusMessageBytes);

  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);

  google::rpc::ErrorInfo info;
  info.set_domain(kDomain);
  info.set_reason(std::string(ErrorCodeName(code)));
  (*info.mutable_metadata())["error_code"] =
      std::to_string(static_cast<int>(code));
  rpc_status.add_details()->PackFrom(info);

  google::rpc::RetryInfo retry;
  if (ParsePayload(status, kRetryInfoUrl, retry)) {
    rpc_status.add_details()->PackFrom(retry);
  } else if (code == ErrorCode::kQueueFull || code == ErrorCode::kUnavailable ||
             code == ErrorCode::kShuttingDown) {
    SetDuration(
        code == ErrorCode::kQueueFull ? kQueueFullRetry : kUnavailableRetry,
        retry.mutable_retry_delay());
    rpc_status.add_details()->PackFrom(retry);
  }

  google::rpc::BadRequest bad_request;
  if (ParsePayload(status, kBadRequestUrl, bad_request)) {
    rpc_status.add_details()->PackFrom(bad_request);
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rpc_status.SerializeAsString());
}

}  // namespace ggufd
