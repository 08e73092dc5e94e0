#include <cmath>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

void MinPStep::Apply(TokenCandidates& candidates) {
  if (p_ <= 0.0f || candidates.empty()) return;
  // p_i >= p * p_max  <=>  logit_i >= logit_max + log(p): no softmax needed.
  const float min_logit = candidates.MaxLogit() + std::log(p_);

  size_t passing = 0;
  for (const TokenCandidate& c : candidates) passing += c.logit >= min_logit;

  if (passing >= min_keep_) {
    // Compact in place, keeping the current order (and sortedness).
    size_t out = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].logit >= min_logit) candidates[out++] = candidates[i];
    }
    candidates.Truncate(out);
    return;
  }
  // Too few pass: keep the min_keep most likely instead.
  candidates.KeepTop(min_keep_ < candidates.size() ? min_keep_
                                                   : candidates.size());
}

}  // namespace ggufd::sampling
