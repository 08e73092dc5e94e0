// The runtime's stable numeric error codes. They travel inside absl::Status
// (as a payload) and reach gRPC clients in google.rpc.ErrorInfo metadata
// ("error_code"), so their numbers never change; new codes are appended.
#ifndef GGUFD_RUNTIME_ERROR_CODE_H_
#define GGUFD_RUNTIME_ERROR_CODE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ggufd {

enum class ErrorCode : int {
  kOk = 0,
  kInvalidArgument = 1,    // a request field is out of range or malformed
  kModelNotFound = 2,      // the model path does not exist
  kInvalidModel = 3,       // malformed GGUF, hostile hyperparameters
  kUnsupportedModel = 4,   // architecture or tensor type not implemented
  kNoModel = 5,            // the operation needs a loaded model
  kContextOverflow = 6,    // prompt (+ generation) exceeds the context
  kOutOfMemory = 7,        // the memory limit would be exceeded
  kCancelled = 8,          // cancelled (a stream: queued or running)
  kDeadlineExceeded = 9,   // the deadline passed (a stream: queued or running)
  kQueueFull = 10,         // the runtime's command queue is full (service)
  kPermissionDenied = 11,  // a path outside the model directory (service)
  kInternal = 12,          // a bug: an invariant of ggufd broke
  kGenerationFailed = 13,  // poisoned runtime or a failure half-way through
  kUnavailable = 14,       // the runtime's worker is gone (service)
  kShuttingDown = 15,      // the server is draining (service)
  kRuntimeNotFound = 16,   // no runtime instance of that name (service)
  kSessionNotFound = 17,   // no session of that id (or no saved file)
  kAlreadyExists = 18,     // a session of that id exists already
  kSessionMismatch = 19,   // a saved session does not fit this runtime
  kNotConfigured = 20,     // the server was started without what it needs
  kUnauthenticated = 21,   // no credentials, or ones the server does not know
  kAccessDenied = 22,      // the caller's role or ownership does not allow it
  kMessageTooLarge = 23,   // a request above --max-receive-message-bytes
  kLimitExceeded = 24,     // a request beyond a server limit (tokens, runtimes)
};

// Upper-case name used as the ErrorInfo reason ("GENERATION_FAILED").
std::string_view ErrorCodeName(ErrorCode code);

// The canonical absl code that goes with each error code.
absl::StatusCode CanonicalCode(ErrorCode code);

// A status of the canonical code carrying `code` as its payload.
absl::Status MakeError(ErrorCode code, std::string_view message);

// The code carried by `status`; kOk for OK, and for a status without
// payload a code derived from its canonical code.
ErrorCode GetErrorCode(const absl::Status& status);

// Returns `status` with `code` attached (kept if it already has one).
absl::Status WithErrorCode(absl::Status status, ErrorCode code);

// Returns `status` tagged with the request field at fault ("stopping",
// "chat.template"), as a payload, so the service can name it to clients
// without reading the message. A tag already there is kept: the check
// nearest the field knows it best. Tag a coded status: WithErrorCode
// rebuilds an uncoded one from its message alone.
absl::Status WithField(absl::Status status, std::string_view field);

// The field `status` is tagged with; nullopt when it has none.
std::optional<std::string> FieldOf(const absl::Status& status);

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_ERROR_CODE_H_
