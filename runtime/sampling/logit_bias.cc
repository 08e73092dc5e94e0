#include <algorithm>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

LogitBiasStep::LogitBiasStep(absl::Span<const LogitBias> biases)
    : biases_(biases.begin(), biases.end()) {
  // Sorting by (token, bias) fixes the order in which duplicate entries are
  // summed, so the float sum is the same on every run.
  std::sort(biases_.begin(), biases_.end(),
            [](const LogitBias& a, const LogitBias& b) {
              if (a.token != b.token) return a.token < b.token;
              return a.bias < b.bias;
            });
  // Merge entries for the same token so each candidate is touched once.
  size_t out = 0;
  for (size_t i = 0; i < biases_.size(); ++i) {
    if (out > 0 && biases_[out - 1].token == biases_[i].token) {
      biases_[out - 1].bias += biases_[i].bias;
    } else {
      biases_[out++] = biases_[i];
    }
  }
  biases_.resize(out);
}

void LogitBiasStep::Apply(TokenCandidates& candidates) {
  if (biases_.empty()) return;
  // Fast path: a candidate still at its vocabulary position (the usual case,
  // since this step runs first) is found by index.
  bool all_direct = true;
  for (const LogitBias& entry : biases_) {
    const auto index = static_cast<size_t>(entry.token);
    if (index < candidates.size() && candidates[index].id == entry.token) {
      candidates[index].logit += entry.bias;
    } else {
      all_direct = false;
    }
  }
  if (!all_direct) {
    // Candidates that were reordered: look each one up. Those at their own
    // index (ids are unique) were already biased above.
    for (size_t i = 0; i < candidates.size(); ++i) {
      TokenCandidate& c = candidates[i];
      if (static_cast<size_t>(c.id) == i) continue;
      const auto it = std::lower_bound(
          biases_.begin(), biases_.end(), c.id,
          [](const LogitBias& b, TokenId id) { return b.token < id; });
      if (it != biases_.end() && it->token == c.id) c.logit += it->bias;
    }
  }
  candidates.set_sorted(false);
}

}  // namespace ggufd::sampling
