#include "service/http/http_errors.h"

#include <cmath>
#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "runtime/error_code.h"
#include "service/status_mapping.h"

namespace ggufd::http {
namespace {

// google.rpc.Code's HTTP mapping (google/rpc/code.proto).
int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// OpenAI's error types, by HTTP status.
const char* TypeOf(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

google::rpc::Status DetailsOf(const absl::Status& status) {
  google::rpc::Status details;
  details.ParseFromString(ToGrpcStatus(status).error_details());
  return details;
}

}  // namespace

std::pair<std::string, std::string> ViolatedField(const absl::Status& status) {
  const google::rpc::Status details = DetailsOf(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return {bad.field_violations(0).field(),
              bad.field_violations(0).description()};
    }
  }
  return {};
}

HttpError ToHttpError(const absl::Status& status,
                      std::optional<std::string> param) {
  const google::rpc::Status details = DetailsOf(status);
  std::string reason;
  std::string field;
  std::optional<absl::Duration> retry;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry_info;
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&info)) {
      reason = info.reason();
    } else if (any.UnpackTo(&retry_info)) {
      retry = absl::Seconds(retry_info.retry_delay().seconds()) +
              absl::Nanoseconds(retry_info.retry_delay().nanos());
    } else if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      field = bad.field_violations(0).field();
    }
  }
  HttpError out;
  out.status = GetErrorCode(status) == ErrorCode::kMessageTooLarge
                   ? 413
                   : HttpStatusOf(status.code());
  out.retry_after = retry;
  nlohmann::json param_json = nullptr;
  if (param.has_value()) {
    param_json = *param;
  } else if (!field.empty()) {
    param_json = field;
  }
  if (GetErrorCode(status) == ErrorCode::kRuntimeNotFound) {
    // What OpenAI answers for a model it does not have.
    reason = "model_not_found";
    param_json = "model";
  }
  out.body = {{"error",
               {{"message", details.message()},
                {"type", TypeOf(out.status)},
                {"param", param_json},
                {"code", reason}}}};
  return out;
}

void WriteError(httplib::Response& res, const HttpError& error) {
  res.status = error.status;
  if (error.retry_after.has_value()) {
    const double seconds = absl::ToDoubleSeconds(*error.retry_after);
    res.set_header(
        "Retry-After",
        std::to_string(std::max(1, static_cast<int>(std::ceil(seconds)))));
    res.set_header(
        "retry-after-ms",
        std::to_string(absl::ToInt64Milliseconds(*error.retry_after)));
  }
  res.set_content(Dump(error.body), "application/json");
}

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ggufd::http
