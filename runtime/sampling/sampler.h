// The sampler: a chain of SamplingSteps built from SamplingParams, in
// llama.cpp's default order (common_sampler_init): logit bias, penalties,
// top-k, typical, top-p, min-p, temperature, then a random pick (or a greedy
// one when the temperature is <= 0). Everything is allocated by Create, so
// Sample never allocates (but for the first time a TokenFilter rejects a
// pick: the masked copy of the logits is sized then, once).
//
// Usage, per generation:
//   ASSIGN_OR_RETURN(Sampler sampler, Sampler::Create(params, vocab_size));
//   RETURN_IF_ERROR(sampler.AcceptPrompt(prompt_tokens));
//   loop: ASSIGN_OR_RETURN(TokenId id, sampler.Sample(logits, &logprobs));
#ifndef GGUFD_RUNTIME_SAMPLING_SAMPLER_H_
#define GGUFD_RUNTIME_SAMPLING_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/sampling/logprobs.h"
#include "runtime/sampling/sampling_params.h"
#include "runtime/sampling/sampling_step.h"
#include "runtime/sampling/token_candidates.h"
#include "runtime/sampling/token_filter.h"

namespace ggufd::sampling {

class Sampler {
 public:
  // Validates `params` against `vocab_size` (> 0) and builds the chain. A
  // params.seed of kRandomSeed is resolved here; seed() reports it.
  static absl::StatusOr<Sampler> Create(const SamplingParams& params,
                                        int32_t vocab_size);

  Sampler(Sampler&&) = default;
  Sampler& operator=(Sampler&&) = default;

  // Runs the chain over `logits` ([vocab_size] raw model output), picks a
  // token and accepts it (as llama_sampler_sample does). When `logprobs` is
  // given, also fills it from the raw logits with params.top_logprobs
  // alternatives. Fails on a wrong logits size, a NaN or +inf logit, or when
  // no token can be chosen (every logit -inf, e.g. all banned by bias).
  //
  // With a `filter` (a grammar), as llama.cpp's common_sampler_sample: the
  // chain picks from the raw logits first; only when the filter rejects
  // that pick are the rejected tokens masked (-inf) on a copy of the logits
  // and the chain run again. A greedy pick is the same as masking first, at
  // the cost of one token check on most steps. Logprobs stay those of the
  // raw logits.
  absl::StatusOr<TokenId> Sample(absl::Span<const float> logits,
                                 TokenLogprobs* logprobs = nullptr,
                                 TokenFilter* filter = nullptr);

  // Records a token that entered the context without being sampled here
  // (prompt tokens, forced tokens) so the penalties see it.
  absl::Status Accept(TokenId token);
  absl::Status AcceptPrompt(absl::Span<const TokenId> tokens);

  // Forgets accepted tokens and restarts the random sequence from seed(), so
  // the same inputs then give the same tokens again.
  void Reset();

  // The seed actually in use (params.seed, or the one drawn for kRandomSeed).
  uint64_t seed() const { return seed_; }
  const SamplingParams& params() const { return params_; }
  int32_t vocab_size() const { return vocab_size_; }

  // The candidates as the last Sample left them (what survived the chain,
  // with probabilities after the final pick), for diagnostics and tests; a
  // greedy sampler whose chain changes no logit takes the argmax of the
  // logits without them (unless asked for logprobs).
  const TokenCandidates& candidates() const { return candidates_; }

  // The chain's steps in order, for diagnostics ("logit-bias", ...).
  std::vector<std::string_view> StepNames() const;

 private:
  Sampler(const SamplingParams& params, int32_t vocab_size, uint64_t seed);

  // Runs the chain over `logits` (checked already) and returns its pick,
  // without accepting it; `fill` keeps the candidates even for a greedy
  // chain (for logprobs and diagnostics).
  absl::StatusOr<TokenId> Pick(absl::Span<const float> logits, bool fill);

  SamplingParams params_;
  int32_t vocab_size_;
  uint64_t seed_;
  TokenCandidates candidates_;
  std::vector<std::unique_ptr<SamplingStep>> steps_;
  bool greedy_only_ = false;   // the pick is the logits' argmax
  std::vector<float> masked_;  // the logits a filter masked (when it did)
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_SAMPLER_H_
