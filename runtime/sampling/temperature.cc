#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

void TemperatureStep::Apply(TokenCandidates& candidates) {
  if (candidates.empty()) return;
  if (temperature_ > 0.0f) {
    float max_logit = -std::numeric_limits<float>::infinity();
    float max_magnitude = 0.0f;
    for (const TokenCandidate& c : candidates) {
      max_logit = std::max(max_logit, c.logit);
      if (!std::isinf(c.logit)) {
        max_magnitude = std::max(max_magnitude, std::fabs(c.logit));
      }
    }
    if (!std::isinf(max_magnitude / temperature_)) {
      for (TokenCandidate& c : candidates) c.logit /= temperature_;
      return;
    }
    // A temperature so small that logits would overflow: shifting by the
    // largest first gives the same distribution (softmax ignores a
    // constant) with every value in [-inf, 0], so nothing becomes NaN; it
    // tends to greedy, as a temperature towards 0 does.
    for (TokenCandidate& c : candidates) {
      c.logit =
          c.logit == max_logit ? 0.0f : (c.logit - max_logit) / temperature_;
    }
    return;
  }
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (HigherLogit(candidates[i], candidates[best])) best = i;
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i != best)
      candidates[i].logit = -std::numeric_limits<float>::infinity();
  }
}

}  // namespace ggufd::sampling
