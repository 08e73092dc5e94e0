#include "runtime/sampling/token_candidates.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace ggufd::sampling {

TokenCandidates::TokenCandidates(int32_t vocab_size)
    : storage_(static_cast<size_t>(std::max(vocab_size, 0))) {}

void TokenCandidates::Fill(absl::Span<const float> logits) {
  assert(logits.size() <= storage_.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    storage_[i] = TokenCandidate{static_cast<TokenId>(i), logits[i], 0.0f};
  }
  size_ = logits.size();
  sorted_ = false;
  selected_ = -1;
}

void TokenCandidates::Truncate(size_t n) {
  assert(n <= size_);
  size_ = n;
}

void TokenCandidates::Sort() {
  if (sorted_) return;
  std::sort(begin(), end(), HigherLogit);
  sorted_ = true;
}

void TokenCandidates::KeepTop(size_t k) {
  assert(k <= size_);
  if (!sorted_) {
    std::partial_sort(begin(), begin() + k, end(), HigherLogit);
    sorted_ = true;
  }
  size_ = k;
}

float TokenCandidates::MaxLogit() const {
  if (sorted_ && size_ > 0) return storage_[0].logit;
  float max_logit = -std::numeric_limits<float>::infinity();
  for (const TokenCandidate& c : *this)
    max_logit = std::max(max_logit, c.logit);
  return max_logit;
}

void TokenCandidates::Softmax() {
  const float max_logit = MaxLogit();
  if (std::isinf(max_logit) && max_logit < 0) {
    for (TokenCandidate& c : *this) c.p = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (TokenCandidate& c : *this) {
    c.p = std::exp(c.logit - max_logit);
    sum += c.p;
  }
  for (TokenCandidate& c : *this) c.p /= sum;
}

}  // namespace ggufd::sampling
