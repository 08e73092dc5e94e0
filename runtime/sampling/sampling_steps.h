// The steps of the sampling chain, in llama.cpp's default order: logit bias,
// penalties, top-k, typical, top-p, min-p, temperature, then one final pick
// (random or greedy). Each step's semantics follow llama.cpp's
// src/llama-sampling.cpp; each is implemented in its own .cc file.
#ifndef GGUFD_RUNTIME_SAMPLING_SAMPLING_STEPS_H_
#define GGUFD_RUNTIME_SAMPLING_SAMPLING_STEPS_H_

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "runtime/sampling/rng.h"
#include "runtime/sampling/sampling_params.h"
#include "runtime/sampling/sampling_step.h"
#include "runtime/sampling/token_candidates.h"

namespace ggufd::sampling {

// Adds a fixed bias to chosen tokens' logits (logit_bias.cc).
class LogitBiasStep : public SamplingStep {
 public:
  // Entries for the same token are summed. Token ids must be >= 0 and
  // biases not NaN (SamplingParams::Validate checks both).
  explicit LogitBiasStep(absl::Span<const LogitBias> biases);
  std::string_view name() const override { return "logit-bias"; }
  void Apply(TokenCandidates& candidates) override;

 private:
  std::vector<LogitBias> biases_;  // one per token, ascending token id
};

// Repetition, presence and frequency penalties over the last `last_n`
// accepted tokens (penalties.cc). The repetition penalty divides positive
// logits and multiplies the others (CTRL, Keskar et al. 2019, with
// llama.cpp's sign fix); presence and frequency subtract (OpenAI).
class PenaltiesStep : public SamplingStep {
 public:
  PenaltiesStep(int32_t vocab_size, int32_t last_n, float repeat,
                float frequency, float presence);
  std::string_view name() const override { return "penalties"; }
  void Apply(TokenCandidates& candidates) override;
  void Accept(TokenId token) override;
  void Reset() override;

  // How often `token` occurs in the window (for tests and diagnostics).
  int32_t CountInWindow(TokenId token) const;

 private:
  int32_t last_n_;
  float repeat_;
  float frequency_;
  float presence_;
  std::vector<TokenId> window_;  // ring buffer [last_n]
  size_t window_next_ = 0;       // where the next token goes
  size_t window_size_ = 0;       // tokens held, <= last_n
  std::vector<int32_t> counts_;  // [vocab_size] occurrences in the window
};

// Keeps the k most likely candidates, sorted (top_k.cc). k <= 0 keeps all.
class TopKStep : public SamplingStep {
 public:
  explicit TopKStep(int32_t k) : k_(k) {}
  std::string_view name() const override { return "top-k"; }
  void Apply(TokenCandidates& candidates) override;

 private:
  int32_t k_;
};

// Locally typical sampling (Meister et al. 2022, "Locally Typical
// Sampling"): keeps the candidates whose surprisal is closest to the
// entropy, until their mass exceeds p (typical.cc). p >= 1 keeps all.
class TypicalStep : public SamplingStep {
 public:
  TypicalStep(int32_t vocab_size, float p, int32_t min_keep);
  std::string_view name() const override { return "typical"; }
  void Apply(TokenCandidates& candidates) override;

 private:
  float p_;
  size_t min_keep_;
  std::vector<TokenCandidate> scratch_;  // [vocab_size] reordered copy
};

// Nucleus sampling (Holtzman et al. 2019): keeps the smallest most-likely
// set whose cumulative probability reaches p, and at least min_keep
// (top_p.cc). p >= 1 keeps all.
class TopPStep : public SamplingStep {
 public:
  TopPStep(float p, int32_t min_keep)
      : p_(p), min_keep_(static_cast<size_t>(std::max(min_keep, 0))) {}
  std::string_view name() const override { return "top-p"; }
  void Apply(TokenCandidates& candidates) override;

 private:
  float p_;
  size_t min_keep_;
};

// Keeps the candidates whose probability is at least p times the largest
// (min_p.cc), and at least min_keep. p <= 0 keeps all.
class MinPStep : public SamplingStep {
 public:
  MinPStep(float p, int32_t min_keep)
      : p_(p), min_keep_(static_cast<size_t>(std::max(min_keep, 0))) {}
  std::string_view name() const override { return "min-p"; }
  void Apply(TokenCandidates& candidates) override;

 private:
  float p_;
  size_t min_keep_;
};

// Divides every logit by the temperature (temperature.cc). A temperature
// <= 0 keeps only the most likely candidate's logit and sets the others to
// -inf, as llama.cpp does, so any final pick is then greedy.
class TemperatureStep : public SamplingStep {
 public:
  explicit TemperatureStep(float temperature) : temperature_(temperature) {}
  std::string_view name() const override { return "temperature"; }
  void Apply(TokenCandidates& candidates) override;

 private:
  float temperature_;
};

// Selects the candidate with the largest logit, the lowest id among equals
// (pick.cc). Selects nothing when every logit is -inf.
class GreedyPickStep : public SamplingStep {
 public:
  std::string_view name() const override { return "greedy"; }
  void Apply(TokenCandidates& candidates) override;
};

// Draws one candidate from softmax(logits) with the seeded RNG, one uniform
// draw per token like llama.cpp's dist sampler; leaves the normalized
// probabilities in p (pick.cc). Selects nothing when every logit is -inf.
class RandomPickStep : public SamplingStep {
 public:
  explicit RandomPickStep(uint64_t seed) : seed_(seed), rng_(seed) {}
  std::string_view name() const override { return "dist"; }
  void Apply(TokenCandidates& candidates) override;
  void Reset() override { rng_.Seed(seed_); }

 private:
  uint64_t seed_;
  Rng rng_;
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_SAMPLING_STEPS_H_
