// Token log-probabilities for the API's logprobs output. They describe the
// model's own distribution: the log-softmax of the raw logits over the whole
// vocabulary, before any bias, penalty, truncation or temperature.
#ifndef GGUFD_RUNTIME_SAMPLING_LOGPROBS_H_
#define GGUFD_RUNTIME_SAMPLING_LOGPROBS_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/sampling/sampling_params.h"
#include "runtime/sampling/token_candidates.h"

namespace ggufd::sampling {

struct TokenLogprob {
  TokenId token = 0;
  float logprob = 0.0f;  // natural log; -inf for a token the model rules out
};

// A fixed-size answer, so computing it per token never allocates.
struct TokenLogprobs {
  TokenLogprob chosen;
  std::array<TokenLogprob, kMaxTopLogprobs> top_storage;
  int32_t top_count = 0;

  // The most likely tokens, most likely first (lower id first among equal
  // logits).
  absl::Span<const TokenLogprob> top() const {
    return absl::MakeConstSpan(top_storage.data(),
                               static_cast<size_t>(top_count));
  }
};

// Computes log p(chosen) and the `top_n` (0..kMaxTopLogprobs) most likely
// tokens from raw `logits` ([vocab_size]). Fails on an empty vocabulary, a
// chosen id outside it, a NaN or +inf logit, or when every logit is -inf.
absl::StatusOr<TokenLogprobs> ComputeLogprobs(absl::Span<const float> logits,
                                              TokenId chosen, int32_t top_n);

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_LOGPROBS_H_
