#include <algorithm>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {
namespace {

// Unsorted candidates are ordered only as far as the nucleus reaches: first
// the best 256, then four times as many per round. The nucleus is usually
// far smaller than the vocabulary, so a full sort is rarely needed.
constexpr size_t kFirstRound = 256;
constexpr size_t kRoundGrowth = 4;

// Moves the best `end` candidates to the front (unsorted), given that the
// best `begin` are already there, and returns the probability mass of
// positions [begin, end).
double BringBestForward(TokenCandidates& candidates, size_t begin, size_t end) {
  if (end < candidates.size()) {
    std::nth_element(candidates.begin() + begin, candidates.begin() + end,
                     candidates.end(), HigherLogit);
  }
  double mass = 0.0;
  for (size_t i = begin; i < end; ++i) mass += candidates[i].p;
  return mass;
}

}  // namespace

void TopPStep::Apply(TokenCandidates& candidates) {
  if (p_ >= 1.0f || candidates.empty()) return;
  candidates.Softmax();

  const size_t n = candidates.size();
  size_t sorted_prefix = n;
  if (!candidates.sorted()) {
    // Grow the front set until it holds the nucleus (and min_keep), then
    // sort just that.
    size_t end = std::min(n, std::max(kFirstRound, min_keep_));
    double mass = BringBestForward(candidates, 0, end);
    while (end < n && mass < p_) {
      const size_t next = std::min(n, end * kRoundGrowth);
      mass += BringBestForward(candidates, end, next);
      end = next;
    }
    std::sort(candidates.begin(), candidates.begin() + end, HigherLogit);
    sorted_prefix = end;
  }

  // Accumulate in float like llama.cpp so borderline cases cut alike.
  float cumulative = 0.0f;
  size_t keep = n;
  for (size_t i = 0; i < n; ++i) {
    if (i == sorted_prefix) {
      // Float rounding ran past the estimate; everything left ranks below
      // the prefix, so sorting the tail completes the order.
      std::sort(candidates.begin() + sorted_prefix, candidates.end(),
                HigherLogit);
      sorted_prefix = n;
    }
    cumulative += candidates[i].p;
    if (cumulative >= p_ && i + 1 >= min_keep_) {
      keep = i + 1;
      break;
    }
  }
  candidates.set_sorted(true);
  candidates.Truncate(keep);
}

}  // namespace ggufd::sampling
