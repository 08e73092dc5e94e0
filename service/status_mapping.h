// The one place where an internal absl::Status becomes a grpc::Status with
// google.rpc details: ErrorInfo (domain "ggufd", reason = the ErrorCode's
// name, metadata "error_code" = its number), RetryInfo where a retry can
// help, and BadRequest field violations for invalid arguments. Handlers
// attach the details they know (a field, a retry delay) to the absl::Status
// as payloads with the helpers below; ToGrpcStatus turns them into wire
// details.
#ifndef GGUFD_SERVICE_STATUS_MAPPING_H_
#define GGUFD_SERVICE_STATUS_MAPPING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "runtime/error_code.h"

namespace ggufd {

// Longest status message sent: messages never echo large user input back.
inline constexpr size_t kMaxStatusMessageBytes = 512;

// An error whose gRPC code differs from `code`'s canonical one, such as
// NOT_FOUND for an unknown runtime name (error code 1, invalid argument).
absl::Status ServiceError(absl::StatusCode canonical, ErrorCode code,
                          absl::string_view message);

// INVALID_ARGUMENT (error code 1) naming `field` with a BadRequest field
// violation.
absl::Status InvalidField(absl::string_view field,
                          absl::string_view description);

// `status` with a BadRequest violation for `field` (kept code and message).
absl::Status WithFieldViolation(absl::Status status, absl::string_view field,
                                absl::string_view description);

// `status` with a BadRequest violation for the request field the runtime
// tagged it with (FieldOf), described by its message; unchanged when it has
// no tag.
absl::Status WithTaggedFieldViolation(absl::Status status);

// `status` with a RetryInfo delay.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// The gRPC status for `status`, with google.rpc.Status details in the
// grpc-status-details-bin trailer. QUEUE_FULL, SHUTTING_DOWN and
// UNAVAILABLE get a default RetryInfo when none is attached.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Cuts `message` to at most `max_bytes`, at a UTF-8 character boundary,
// marking the cut with "...".
std::string TruncateMessage(absl::string_view message, size_t max_bytes);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_STATUS_MAPPING_H_
