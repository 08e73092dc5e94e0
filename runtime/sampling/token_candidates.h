// The candidate array the sampling steps work on: one (id, logit, p) entry per
// vocabulary token, reserved once for the vocabulary size so that sampling a
// token never allocates (llama.cpp's llama_token_data_array).
#ifndef GGUFD_RUNTIME_SAMPLING_TOKEN_CANDIDATES_H_
#define GGUFD_RUNTIME_SAMPLING_TOKEN_CANDIDATES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace ggufd::sampling {

using TokenId = int32_t;

struct TokenCandidate {
  TokenId id = 0;
  float logit = 0.0f;
  float p = 0.0f;  // probability; valid only after a step computed it
};

// Orders candidates by logit, highest first; equal logits by lower id first,
// so every sort is a strict total order and gives the same result with any
// standard library.
inline bool HigherLogit(const TokenCandidate& a, const TokenCandidate& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  return a.id < b.id;
}

class TokenCandidates {
 public:
  // Reserves room for `vocab_size` candidates; nothing allocates afterwards.
  explicit TokenCandidates(int32_t vocab_size);

  // Loads one candidate per logit, id = index, in id order (unsorted, no
  // selection). The caller guarantees logits.size() <= vocab_size().
  void Fill(absl::Span<const float> logits);

  int32_t vocab_size() const { return static_cast<int32_t>(storage_.size()); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  TokenCandidate& operator[](size_t i) { return storage_[i]; }
  const TokenCandidate& operator[](size_t i) const { return storage_[i]; }
  TokenCandidate* begin() { return storage_.data(); }
  TokenCandidate* end() { return storage_.data() + size_; }
  const TokenCandidate* begin() const { return storage_.data(); }
  const TokenCandidate* end() const { return storage_.data() + size_; }

  // Keeps the first `n` candidates (n <= size()).
  void Truncate(size_t n);

  // True when the candidates are in HigherLogit order.
  bool sorted() const { return sorted_; }
  void set_sorted(bool sorted) { sorted_ = sorted; }

  // Index of the chosen candidate, or -1 while none is chosen.
  int64_t selected() const { return selected_; }
  void set_selected(int64_t index) { selected_ = index; }

  // Sorts all candidates in HigherLogit order.
  void Sort();

  // Moves the `k` best candidates (HigherLogit order) to the front, sorted,
  // and drops the rest (k <= size()).
  void KeepTop(size_t k);

  // Largest logit among the candidates (-inf when empty).
  float MaxLogit() const;

  // Sets p = softmax(logit) over the current candidates, subtracting the
  // largest logit for numerical stability. When every logit is -inf there is
  // no distribution and every p is set to 0.
  void Softmax();

 private:
  std::vector<TokenCandidate> storage_;  // [vocab_size]
  size_t size_ = 0;
  bool sorted_ = false;
  int64_t selected_ = -1;
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_TOKEN_CANDIDATES_H_
