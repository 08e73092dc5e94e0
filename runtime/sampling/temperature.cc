#include <limits>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

void TemperatureStep::Apply(TokenCandidates& candidates) {
  if (candidates.empty()) return;
  if (temperature_ > 0.0f) {
    for (TokenCandidate& c : candidates) c.logit /= temperature_;
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
