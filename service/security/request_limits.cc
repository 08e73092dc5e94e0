#include "service/security/request_limits.h"

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "service/status_mapping.h"

namespace ggufd::security {
namespace {

absl::Status Exceeded(const std::string& field, const std::string& message) {
  return WithFieldViolation(MakeError(ErrorCode::kLimitExceeded, message),
                            field, message);
}

absl::Status CheckMaxTokens(const v1::StoppingParams& stopping,
                            const std::string& field,
                            const RequestLimits& limits,
                            ServiceMetrics& metrics) {
  // 0 means "until the context is full"; under a limit it runs to the limit
  // (the generation clamps it), so only an explicit larger number is
  // refused.
  if (limits.max_new_tokens > 0 && stopping.has_max_tokens() &&
      stopping.max_tokens() > limits.max_new_tokens) {
    metrics.CountLimitRejection("new_tokens");
    return Exceeded(field, StrCat("at most ", limits.max_new_tokens,
                                  " new tokens per request on this server "
                                  "(--max-new-tokens)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckGenerateLimits(const v1::GenerateRequest& request,
                                 const RequestLimits& limits,
                                 ServiceMetrics& metrics) {
  if (limits.max_prompt_tokens > 0 &&
      request.prompt_case() == v1::GenerateRequest::kTokens &&
      request.tokens().ids_size() > limits.max_prompt_tokens) {
    metrics.CountLimitRejection("prompt_tokens");
    return Exceeded("tokens.ids",
                    StrCat("the prompt has ", request.tokens().ids_size(),
                           " tokens; this server accepts at most ",
                           limits.max_prompt_tokens, " (--max-prompt-tokens)"));
  }
  if (request.has_stopping()) {
    return CheckMaxTokens(request.stopping(), "stopping.max_tokens", limits,
                          metrics);
  }
  return absl::OkStatus();
}

absl::Status CheckConfigureLimits(const v1::ConfigureRequest& request,
                                  const RequestLimits& limits,
                                  ServiceMetrics& metrics) {
  if (request.has_stopping()) {
    return CheckMaxTokens(request.stopping(), "stopping.max_tokens", limits,
                          metrics);
  }
  return absl::OkStatus();
}

}  // namespace ggufd::security
