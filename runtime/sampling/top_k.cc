#include <algorithm>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

void TopKStep::Apply(TokenCandidates& candidates) {
  if (k_ <= 0) return;
  candidates.KeepTop(std::min(static_cast<size_t>(k_), candidates.size()));
}

}  // namespace ggufd::sampling
