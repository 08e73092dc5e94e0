// How the next token is chosen. The defaults are llama.cpp's common defaults
// (common_params_sampling), so an empty request samples like llama-cli.
#ifndef GGUFD_RUNTIME_SAMPLING_SAMPLING_PARAMS_H_
#define GGUFD_RUNTIME_SAMPLING_SAMPLING_PARAMS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/sampling/rng.h"
#include "runtime/sampling/token_candidates.h"

namespace ggufd::sampling {

// Most alternatives a logprobs answer may list per token (OpenAI's limit).
inline constexpr int32_t kMaxTopLogprobs = 20;
// Longest penalty window; the window is allocated up front, so it is bounded.
inline constexpr int32_t kMaxRepeatLastN = 1 << 20;
// Bounds that keep every sampling step on finite logits finite.
inline constexpr float kMaxLogitBias = 1e6f;
inline constexpr float kMinRepeatPenalty = 1e-4f;
inline constexpr float kMaxRepeatPenalty = 1e4f;
inline constexpr float kMaxAdditivePenalty = 1e4f;

// An additive bias on one token's logit; -infinity bans the token.
struct LogitBias {
  TokenId token = 0;
  float bias = 0.0f;
};

struct SamplingParams {
  // Divides the logits; <= 0 picks the most likely remaining token (greedy).
  // Any finite value: the tiniest positive ones act as greedy does.
  float temperature = 0.8f;
  // Keeps the k most likely tokens; 0 keeps all.
  int32_t top_k = 40;
  // Keeps the smallest most-likely set whose probability reaches top_p;
  // 1 keeps all.
  float top_p = 0.95f;
  // Drops tokens less likely than min_p times the most likely one; 0 keeps
  // all.
  float min_p = 0.05f;
  // Locally typical sampling (Meister et al. 2022) mass; 1 keeps all.
  float typical_p = 1.0f;
  // The fewest tokens top-p, min-p and typical may leave (0 = no floor).
  int32_t min_keep = 0;
  // How many of the most recent prompt and generated tokens the penalties
  // look at; 0 disables the penalties.
  int32_t repeat_last_n = 64;
  // Divides positive logits and multiplies negative ones of repeated tokens;
  // 1 disables it. In [kMinRepeatPenalty, kMaxRepeatPenalty].
  float repeat_penalty = 1.0f;
  // Subtracted once from the logit of every token seen in the window
  // (|value| <= kMaxAdditivePenalty, as the frequency penalty).
  float presence_penalty = 0.0f;
  // Subtracted from a token's logit once per occurrence in the window.
  float frequency_penalty = 0.0f;
  // kRandomSeed draws a seed (Sampler::seed() reports it).
  uint64_t seed = kRandomSeed;
  // Added to the logits before everything else; entries for the same token
  // add up. Each is -inf (a ban) or within +-kMaxLogitBias.
  std::vector<LogitBias> logit_bias;
  // How many most likely alternatives to report with each token's logprob
  // (0..kMaxTopLogprobs).
  int32_t top_logprobs = 0;

  // Checks every field. `vocab_size` bounds the token ids of logit_bias and
  // min_keep; pass 0 when no model is loaded yet to skip those bounds.
  // Returns InvalidArgument naming the field and the allowed range.
  absl::Status Validate(int32_t vocab_size) const;
};

// A partial SamplingParams: the fields set replace those of the params they
// apply to (a runtime's defaults), the rest keep theirs. A logit_bias set to
// an empty list clears the biases; mind that `.logit_bias = {}` leaves it
// unset.
struct SamplingOverrides {
  std::optional<float> temperature;
  std::optional<int32_t> top_k;
  std::optional<float> top_p;
  std::optional<float> min_p;
  std::optional<float> typical_p;
  std::optional<int32_t> min_keep;
  std::optional<int32_t> repeat_last_n;
  std::optional<float> repeat_penalty;
  std::optional<float> presence_penalty;
  std::optional<float> frequency_penalty;
  std::optional<uint64_t> seed;
  std::optional<std::vector<LogitBias>> logit_bias;
  std::optional<int32_t> top_logprobs;

  // `base` with the fields set here replaced.
  SamplingParams ApplyTo(SamplingParams base) const;
};

// Bans the end-of-generation tokens (ignore-EOS) by appending -inf biases.
void AddIgnoreEosBias(absl::Span<const TokenId> end_of_generation_tokens,
                      SamplingParams& params);

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_SAMPLING_PARAMS_H_
