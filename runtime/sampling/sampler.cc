#include "runtime/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"
#include "runtime/common/status_macros.h"
#include "runtime/sampling/rng.h"
#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {

absl::StatusOr<Sampler> Sampler::Create(const SamplingParams& params,
                                        int32_t vocab_size) {
  if (vocab_size <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a sampler needs a vocabulary, got size %d", vocab_size));
  }
  RETURN_IF_ERROR(params.Validate(vocab_size));
  return Sampler(params, vocab_size, ResolveSeed(params.seed));
}

Sampler::Sampler(const SamplingParams& params, int32_t vocab_size,
                 uint64_t seed)
    : params_(params),
      vocab_size_(vocab_size),
      seed_(seed),
      candidates_(vocab_size) {
  const SamplingParams& p = params_;
  // Steps that would do nothing are left out of the chain.
  if (!p.logit_bias.empty()) {
    steps_.push_back(std::make_unique<LogitBiasStep>(p.logit_bias));
  }
  if (p.repeat_last_n > 0 &&
      (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f ||
       p.presence_penalty != 0.0f)) {
    steps_.push_back(std::make_unique<PenaltiesStep>(
        vocab_size, p.repeat_last_n, p.repeat_penalty, p.frequency_penalty,
        p.presence_penalty));
  }
  if (p.top_k > 0) steps_.push_back(std::make_unique<TopKStep>(p.top_k));
  if (p.typical_p < 1.0f) {
    steps_.push_back(
        std::make_unique<TypicalStep>(vocab_size, p.typical_p, p.min_keep));
  }
  if (p.top_p < 1.0f) {
    steps_.push_back(std::make_unique<TopPStep>(p.top_p, p.min_keep));
  }
  if (p.min_p > 0.0f) {
    steps_.push_back(std::make_unique<MinPStep>(p.min_p, p.min_keep));
  }
  // Top-k, top-p and min-p always keep the most likely token, so with a
  // greedy pick and nothing that changes the logits the pick is their
  // argmax.
  // Bans (-inf biases, as ignore_eos adds) are allowed: an argmax that is
  // banned takes the whole chain.
  const bool bans_only = std::all_of(
      p.logit_bias.begin(), p.logit_bias.end(),
      [](const LogitBias& b) { return std::isinf(b.bias) && b.bias < 0; });
  greedy_only_ = p.temperature <= 0.0f && bans_only && p.typical_p >= 1.0f &&
                 !(p.repeat_last_n > 0 &&
                   (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f ||
                    p.presence_penalty != 0.0f));
  if (p.temperature > 0.0f) {
    if (p.temperature != 1.0f) {
      steps_.push_back(std::make_unique<TemperatureStep>(p.temperature));
    }
    steps_.push_back(std::make_unique<RandomPickStep>(seed));
  } else {
    steps_.push_back(std::make_unique<GreedyPickStep>());
  }
}

absl::StatusOr<TokenId> Sampler::Sample(absl::Span<const float> logits,
                                        TokenLogprobs* logprobs,
                                        TokenFilter* filter) {
  if (logits.size() != static_cast<size_t>(vocab_size_)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sampler got %d logits for a vocabulary of %d",
                        logits.size(), vocab_size_));
  }
  for (size_t i = 0; i < logits.size(); ++i) {
    const float logit = logits[i];
    if (std::isnan(logit) || logit == std::numeric_limits<float>::infinity()) {
      return absl::InternalError(
          absl::StrFormat("logit of token %d is %g", i, logit));
    }
  }
  ASSIGN_OR_RETURN(TokenId token, Pick(logits, logprobs != nullptr));
  if (filter != nullptr) {
    ASSIGN_OR_RETURN(const bool allowed, filter->Allows(token));
    if (!allowed) {
      // The pick broke the constraint: pick again with every token it
      // rejects masked. The first pick's random draw stays drawn, as in
      // llama.cpp, so seeded runs match its sequence.
      masked_.assign(logits.begin(), logits.end());
      RETURN_IF_ERROR(filter->Mask(absl::MakeSpan(masked_)));
      ASSIGN_OR_RETURN(token, Pick(masked_, logprobs != nullptr));
    }
  }
  if (logprobs != nullptr) {
    ASSIGN_OR_RETURN(*logprobs,
                     ComputeLogprobs(logits, token, params_.top_logprobs));
  }
  for (const auto& step : steps_) step->Accept(token);
  return token;
}

absl::StatusOr<TokenId> Sampler::Pick(absl::Span<const float> logits,
                                      bool fill) {
  if (greedy_only_ && !fill) {
    // The chain's pick is the argmax (ties to the lower id, as HigherLogit
    // orders them): no pass to fill and filter the candidates.
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i) {
      if (logits[i] > logits[best]) best = i;
    }
    const TokenId token = static_cast<TokenId>(best);
    const bool banned =
        std::any_of(params_.logit_bias.begin(), params_.logit_bias.end(),
                    [token](const LogitBias& b) { return b.token == token; });
    if (!banned && logits[best] != -std::numeric_limits<float>::infinity()) {
      return token;
    }
  }
  candidates_.Fill(logits);
  for (const auto& step : steps_) step->Apply(candidates_);

  const int64_t selected = candidates_.selected();
  if (selected < 0) {
    return absl::FailedPreconditionError(
        "every candidate's logit is -inf (are all "
        "tokens banned by logit_bias?)");
  }
  return candidates_[static_cast<size_t>(selected)].id;
}

absl::Status Sampler::Accept(TokenId token) {
  if (token < 0 || token >= vocab_size_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "token %d is outside the vocabulary [0, %d)", token, vocab_size_));
  }
  for (const auto& step : steps_) step->Accept(token);
  return absl::OkStatus();
}

absl::Status Sampler::AcceptPrompt(absl::Span<const TokenId> tokens) {
  // Check everything first so a bad id leaves the history untouched.
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size_) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "prompt token %d (id %d) is outside the vocabulary [0, %d)", i,
          tokens[i], vocab_size_));
    }
  }
  for (TokenId token : tokens) {
    for (const auto& step : steps_) step->Accept(token);
  }
  return absl::OkStatus();
}

void Sampler::Reset() {
  for (const auto& step : steps_) step->Reset();
}

std::vector<std::string_view> Sampler::StepNames() const {
  std::vector<std::string_view> names;
  names.reserve(steps_.size());
  for (const auto& step : steps_) names.push_back(step->name());
  return names;
}

}  // namespace ggufd::sampling
