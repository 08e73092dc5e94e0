// The per-request limits of `ggufd serve` (flags with safe defaults) and the
// checks the service makes before a request is queued. Each refusal names
// the limit in its message and carries ErrorInfo reason LIMIT_EXCEEDED (or
// MESSAGE_TOO_LARGE for the size, checked by AccessGuard), so clients can
// tell it from the retryable QUEUE_FULL.
#ifndef GGUFD_SERVICE_SECURITY_REQUEST_LIMITS_H_
#define GGUFD_SERVICE_SECURITY_REQUEST_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "ggufd/v1/inference.pb.h"
#include "ggufd/v1/runtime.pb.h"
#include "service/service_metrics.h"

namespace ggufd::security {

struct RequestLimits {
  // Largest request message. gRPC itself drops messages above twice this
  // before they are parsed (RESOURCE_EXHAUSTED without ErrorInfo); between
  // the two the service answers with reason MESSAGE_TOO_LARGE.
  size_t max_receive_message_bytes = 4 << 20;
  // Prompt tokens one Generate may send (token-id prompts are checked
  // before queueing); 0 = only the context bounds it.
  int32_t max_prompt_tokens = 8192;
  // Tokens one Generate may ask for (stopping.max_tokens); unset or 0 runs
  // at most this many. 0 = only the context bounds it.
  int32_t max_new_tokens = 4096;
  // Runtimes that may exist, the default one included.
  size_t max_runtimes = 16;
  // HTTP/2 streams one connection may have open at once; clients queue the
  // calls beyond it.
  int max_concurrent_streams = 100;
};

// LIMIT_EXCEEDED (INVALID_ARGUMENT, with a BadRequest violation) for a
// Generate beyond max_prompt_tokens or max_new_tokens, counted in `metrics`.
absl::Status CheckGenerateLimits(const v1::GenerateRequest& request,
                                 const RequestLimits& limits,
                                 ServiceMetrics& metrics);
// The same for the defaults Configure sets (stopping.max_tokens).
absl::Status CheckConfigureLimits(const v1::ConfigureRequest& request,
                                  const RequestLimits& limits,
                                  ServiceMetrics& metrics);

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_REQUEST_LIMITS_H_
