#include <algorithm>

#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

PenaltiesStep::PenaltiesStep(int32_t vocab_size, int32_t last_n, float repeat,
                             float frequency, float presence)
    : last_n_(std::max(last_n, 0)),
      repeat_(repeat),
      frequency_(frequency),
      presence_(presence) {
  const bool active =
      repeat_ != 1.0f || frequency_ != 0.0f || presence_ != 0.0f;
  if (last_n_ > 0 && active) {
    window_.resize(static_cast<size_t>(last_n_));
    counts_.resize(static_cast<size_t>(std::max(vocab_size, 0)));
  } else {
    last_n_ = 0;  // nothing to track
  }
}

void PenaltiesStep::Accept(TokenId token) {
  if (last_n_ == 0) return;
  if (token < 0 || static_cast<size_t>(token) >= counts_.size()) return;
  if (window_size_ == window_.size()) {
    --counts_[static_cast<size_t>(window_[window_next_])];
  } else {
    ++window_size_;
  }
  window_[window_next_] = token;
  ++counts_[static_cast<size_t>(token)];
  window_next_ = (window_next_ + 1) % window_.size();
}

void PenaltiesStep::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  window_next_ = 0;
  window_size_ = 0;
}

int32_t PenaltiesStep::CountInWindow(TokenId token) const {
  if (token < 0 || static_cast<size_t>(token) >= counts_.size()) return 0;
  return counts_[static_cast<size_t>(token)];
}

void PenaltiesStep::Apply(TokenCandidates& candidates) {
  if (last_n_ == 0 || window_size_ == 0) return;
  for (TokenCandidate& c : candidates) {
    const int32_t count = counts_[static_cast<size_t>(c.id)];
    if (count == 0) continue;
    // Dividing a negative logit would make the token more likely, so
    // negative logits are multiplied instead.
    if (c.logit <= 0.0f) {
      c.logit *= repeat_;
    } else {
      c.logit /= repeat_;
    }
    c.logit -= static_cast<float>(count) * frequency_ + presence_;
  }
  candidates.set_sorted(false);
}

}  // namespace ggufd::sampling
