#include "runtime/sampling/logprobs.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"

namespace ggufd::sampling {

absl::StatusOr<TokenLogprobs> ComputeLogprobs(absl::Span<const float> logits,
                                              TokenId chosen, int32_t top_n) {
  if (logits.empty()) {
    return absl::InvalidArgumentError("logprobs need a non-empty vocabulary");
  }
  if (chosen < 0 || static_cast<size_t>(chosen) >= logits.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "token %d is outside the vocabulary [0, %d)", chosen, logits.size()));
  }
  if (top_n < 0 || top_n > kMaxTopLogprobs) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "top logprobs must be in [0, %d], got %d", kMaxTopLogprobs, top_n));
  }

  float max_logit = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    const float logit = logits[i];
    if (std::isnan(logit) || logit == std::numeric_limits<float>::infinity()) {
      return absl::InternalError(
          absl::StrFormat("logit of token %d is %g", i, logit));
    }
    if (logit > max_logit) max_logit = logit;
  }
  if (std::isinf(max_logit)) {
    return absl::InternalError("every logit is -inf");
  }

  // log softmax(x)_i = x_i - (max + log sum_j exp(x_j - max)); float terms
  // summed in double keep a 256k vocabulary from losing the small ones.
  double sum = 0.0;
  for (float logit : logits) sum += std::exp(logit - max_logit);
  const double log_normalizer = static_cast<double>(max_logit) + std::log(sum);
  auto logprob_of = [&](size_t i) {
    return static_cast<float>(static_cast<double>(logits[i]) - log_normalizer);
  };

  TokenLogprobs result;
  result.chosen = TokenLogprob{chosen, logprob_of(static_cast<size_t>(chosen))};

  // Insertion into a sorted array of at most kMaxTopLogprobs entries: one
  // pass over the vocabulary, no allocation.
  auto& top = result.top_storage;
  int32_t count = 0;
  for (size_t i = 0; i < logits.size() && top_n > 0; ++i) {
    const float logit = logits[i];
    if (count == top_n &&
        !(logit > logits[static_cast<size_t>(top[count - 1].token)])) {
      continue;  // not better than the worst kept (ties keep the lower id)
    }
    int32_t pos = count < top_n ? count++ : top_n - 1;
    while (pos > 0 && logit > logits[static_cast<size_t>(top[pos - 1].token)]) {
      top[pos] = top[pos - 1];
      --pos;
    }
    top[pos] = TokenLogprob{static_cast<TokenId>(i), 0.0f};
  }
  for (int32_t k = 0; k < count; ++k) {
    top[k].logprob = logprob_of(static_cast<size_t>(top[k].token));
  }
  result.top_count = count;
  return result;
}

}  // namespace ggufd::sampling
