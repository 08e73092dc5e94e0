#include "runtime/error_code.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "runtime/common/str_cat.h"

namespace ggufd {
namespace {

// The payload key under which a status carries its ErrorCode.
constexpr char kPayloadUrl[] = "type.googleapis.com/ggufd.ErrorCode";
// The payload key under which a status carries the request field at fault.
constexpr char kFieldUrl[] = "type.googleapis.com/ggufd.Field";

struct CodeInfo {
  std::string_view name;
  absl::StatusCode canonical;
};

constexpr std::array<CodeInfo, 25> kCodes = {{
    {"OK", absl::StatusCode::kOk},
    {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument},
    {"MODEL_NOT_FOUND", absl::StatusCode::kNotFound},
    {"INVALID_MODEL", absl::StatusCode::kInvalidArgument},
    {"UNSUPPORTED_MODEL", absl::StatusCode::kUnimplemented},
    {"NO_MODEL", absl::StatusCode::kFailedPrecondition},
    {"CONTEXT_OVERFLOW", absl::StatusCode::kOutOfRange},
    {"OUT_OF_MEMORY", absl::StatusCode::kResourceExhausted},
    {"CANCELLED", absl::StatusCode::kCancelled},
    {"DEADLINE_EXCEEDED", absl::StatusCode::kDeadlineExceeded},
    {"QUEUE_FULL", absl::StatusCode::kResourceExhausted},
    {"PERMISSION_DENIED", absl::StatusCode::kPermissionDenied},
    {"INTERNAL", absl::StatusCode::kInternal},
    {"GENERATION_FAILED", absl::StatusCode::kFailedPrecondition},
    {"UNAVAILABLE", absl::StatusCode::kUnavailable},
    {"SHUTTING_DOWN", absl::StatusCode::kUnavailable},
    {"RUNTIME_NOT_FOUND", absl::StatusCode::kNotFound},
    {"SESSION_NOT_FOUND", absl::StatusCode::kNotFound},
    {"ALREADY_EXISTS", absl::StatusCode::kAlreadyExists},
    {"SESSION_MISMATCH", absl::StatusCode::kFailedPrecondition},
    {"NOT_CONFIGURED", absl::StatusCode::kFailedPrecondition},
    {"UNAUTHENTICATED", absl::StatusCode::kUnauthenticated},
    {"ACCESS_DENIED", absl::StatusCode::kPermissionDenied},
    {"MESSAGE_TOO_LARGE", absl::StatusCode::kResourceExhausted},
    {"LIMIT_EXCEEDED", absl::StatusCode::kInvalidArgument},
}};

const CodeInfo* Info(ErrorCode code) {
  const auto i = static_cast<size_t>(code);
  return i < kCodes.size() ? &kCodes[i] : nullptr;
}

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  const CodeInfo* info = Info(code);
  return info ? info->name : "UNKNOWN";
}

absl::StatusCode CanonicalCode(ErrorCode code) {
  const CodeInfo* info = Info(code);
  return info ? info->canonical : absl::StatusCode::kUnknown;
}

absl::Status MakeError(ErrorCode code, std::string_view message) {
  absl::Status status(CanonicalCode(code), ToAbsl(message));
  status.SetPayload(kPayloadUrl,
                    absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

ErrorCode GetErrorCode(const absl::Status& status) {
  if (status.ok()) return ErrorCode::kOk;
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    int value = 0;
    if (absl::SimpleAtoi(std::string(*payload), &value) && value >= 0 &&
        static_cast<size_t>(value) < kCodes.size()) {
      return static_cast<ErrorCode>(value);
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidArgument;
    case absl::StatusCode::kNotFound:
      return ErrorCode::kModelNotFound;
    case absl::StatusCode::kUnimplemented:
      return ErrorCode::kUnsupportedModel;
    case absl::StatusCode::kOutOfRange:
      return ErrorCode::kContextOverflow;
    case absl::StatusCode::kResourceExhausted:
      return ErrorCode::kOutOfMemory;
    case absl::StatusCode::kCancelled:
      return ErrorCode::kCancelled;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorCode::kDeadlineExceeded;
    case absl::StatusCode::kPermissionDenied:
      return ErrorCode::kPermissionDenied;
    case absl::StatusCode::kUnavailable:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

absl::Status WithErrorCode(absl::Status status, ErrorCode code) {
  if (status.ok() || status.GetPayload(kPayloadUrl).has_value()) return status;
  return MakeError(code, StrCat(status.message()));
}

absl::Status WithField(absl::Status status, std::string_view field) {
  if (status.ok() || status.GetPayload(kFieldUrl).has_value()) return status;
  status.SetPayload(kFieldUrl, absl::Cord(ToAbsl(field)));
  return status;
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  auto payload = status.GetPayload(kFieldUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace ggufd
