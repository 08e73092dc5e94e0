// ggufd's errors in OpenAI's shape. The status goes through the same
// ToGrpcStatus a gRPC call ends with, and the answer is read from the
// details it makes, so both doors give the same reason for the same error:
//
//   {"error": {"message": ..., "type": ..., "param": ..., "code": REASON}}
//
// `code` is the ErrorInfo reason (QUEUE_FULL, NO_MODEL, INVALID_ARGUMENT...)
// except for an unknown runtime named in `model`, which is OpenAI's
// "model_not_found"; `param` is the field a BadRequest violation names. The
// HTTP status follows google.rpc.Code's mapping (INVALID_ARGUMENT 400,
// NOT_FOUND 404, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503...), except
// MESSAGE_TOO_LARGE (413). A RetryInfo delay becomes Retry-After (whole
// seconds, at least 1) and retry-after-ms, which OpenAI's clients honour.
#ifndef GGUFD_SERVICE_HTTP_HTTP_ERRORS_H_
#define GGUFD_SERVICE_HTTP_HTTP_ERRORS_H_

#include <httplib.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace ggufd::http {

struct HttpError {
  int status = 500;
  nlohmann::json body;  // {"error": {...}}
  std::optional<absl::Duration> retry_after;
};

// `param` replaces the field named by the status's BadRequest violation
// (the HTTP door names fields as the OpenAI API does); nullopt keeps it.
HttpError ToHttpError(const absl::Status& status,
                      std::optional<std::string> param = std::nullopt);

// The field a status's first BadRequest violation names, and its
// description ("" when none).
std::pair<std::string, std::string> ViolatedField(const absl::Status& status);

// Writes `error` as the response (status, headers, JSON body).
void WriteError(httplib::Response& res, const HttpError& error);

// JSON text of a body or SSE event: invalid UTF-8 (a model's partial
// character) is replaced, never thrown about.
std::string Dump(const nlohmann::json& value);

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_HTTP_ERRORS_H_
