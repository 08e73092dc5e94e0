#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

TypicalStep::TypicalStep(int32_t vocab_size, float p, int32_t min_keep)
    : p_(p), min_keep_(static_cast<size_t>(std::max(min_keep, 0))) {
  if (p_ < 1.0f) scratch_.resize(static_cast<size_t>(std::max(vocab_size, 0)));
}

// Follows the reference implementation of Meister et al. (and llama.cpp):
// rank candidates by |surprisal - entropy|, keep the best-ranked until their
// probability mass exceeds p.
void TypicalStep::Apply(TokenCandidates& candidates) {
  if (p_ >= 1.0f || candidates.empty()) return;
  candidates.Sort();
  candidates.Softmax();

  // A zero probability contributes nothing to the entropy (p log p -> 0).
  float entropy = 0.0f;
  for (const TokenCandidate& c : candidates) {
    if (c.p > 0.0f) entropy -= c.p * std::log(c.p);
  }

  // Rank by shifted score, carried in the scratch copy's logit field; ties
  // keep the more likely candidate (lower index in the sorted order) first.
  const size_t n = candidates.size();
  for (size_t i = 0; i < n; ++i) {
    const float p = candidates[i].p;
    const float score = p > 0.0f ? std::fabs(-std::log(p) - entropy)
                                 : std::numeric_limits<float>::infinity();
    scratch_[i] = TokenCandidate{static_cast<TokenId>(i), score, p};
  }
  std::sort(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(n),
            [](const TokenCandidate& a, const TokenCandidate& b) {
              if (a.logit != b.logit) return a.logit < b.logit;
              return a.id < b.id;
            });

  float cumulative = 0.0f;
  size_t keep = n;
  for (size_t i = 0; i < n; ++i) {
    cumulative += scratch_[i].p;
    if (cumulative > p_ && (min_keep_ == 0 || i + 1 >= min_keep_)) {
      keep = i + 1;
      break;
    }
  }

  // Replace the scratch entries by the candidates they rank, then copy back.
  for (size_t i = 0; i < keep; ++i) {
    scratch_[i] = candidates[static_cast<size_t>(scratch_[i].id)];
  }
  std::copy(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(keep),
            candidates.begin());
  candidates.Truncate(keep);
  candidates.set_sorted(false);
}

}  // namespace ggufd::sampling
