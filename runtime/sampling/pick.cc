#include <cmath>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

void GreedyPickStep::Apply(TokenCandidates& candidates) {
  candidates.set_selected(-1);
  if (candidates.empty()) return;
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (HigherLogit(candidates[i], candidates[best])) best = i;
  }
  const float logit = candidates[best].logit;
  if (std::isinf(logit) && logit < 0) return;
  candidates.set_selected(static_cast<int64_t>(best));
}

void RandomPickStep::Apply(TokenCandidates& candidates) {
  candidates.set_selected(-1);
  // One draw per token whatever the candidates, so the random sequence
  // depends only on the seed and the number of tokens sampled.
  const double uniform = rng_.NextDouble();
  if (candidates.empty()) return;
  const float max_logit = candidates.MaxLogit();
  if (std::isinf(max_logit) && max_logit < 0) return;

  // Float probabilities summed in double, as llama.cpp's dist sampler does.
  double sum = 0.0;
  for (TokenCandidate& c : candidates) {
    c.p = std::exp(c.logit - max_logit);
    sum += c.p;
  }
  const double target = sum * uniform;
  double running = 0.0;
  int64_t chosen = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    TokenCandidate& c = candidates[i];
    running += c.p;
    // Skipping p == 0 keeps a masked token from being drawn when uniform is
    // exactly 0.
    if (chosen < 0 && c.p > 0.0f && running >= target) {
      chosen = static_cast<int64_t>(i);
    }
    c.p = static_cast<float>(c.p / sum);
  }
  if (chosen < 0) {
    // Rounding left the target just above the total: take the last token
    // that has any probability.
    for (size_t i = candidates.size(); i-- > 0;) {
      if (candidates[i].p > 0.0f) {
        chosen = static_cast<int64_t>(i);
        break;
      }
    }
  }
  candidates.set_selected(chosen);
}

}  // namespace ggufd::sampling
