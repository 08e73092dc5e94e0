#include "runtime/sampling/sampling_params.h"

#include <cmath>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/common/status_macros.h"

namespace ggufd::sampling {
namespace {

// More bias entries than the largest vocabularies in use (~256k) is abuse.
constexpr size_t kMaxLogitBiasEntries = size_t{1} << 18;

absl::Status CheckFinite(std::string_view name, float value) {
  if (std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s must be a finite number, got %g", name, value));
}

absl::Status CheckRange(std::string_view name, float value, float lo,
                        float hi) {
  RETURN_IF_ERROR(CheckFinite(name, value));
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s must be in [%g, %g], got %g", name, lo, hi, value));
}

absl::Status CheckIntRange(std::string_view name, int64_t value, int64_t lo,
                           int64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s must be in [%d, %d], got %d", name, lo, hi, value));
}

absl::Status CheckLogitBias(const std::vector<LogitBias>& entries,
                            int32_t vocab_size) {
  if (entries.size() > kMaxLogitBiasEntries) {
    return absl::InvalidArgumentError(
        absl::StrFormat("logit_bias has %d entries, at most %d are allowed",
                        entries.size(), kMaxLogitBiasEntries));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const LogitBias& entry = entries[i];
    if (entry.token < 0 || (vocab_size > 0 && entry.token >= vocab_size)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "logit_bias[%d] names token %d, outside the vocabulary [0, %d)", i,
          entry.token, vocab_size));
    }
    // -inf bans a token; anything else is bounded so biased logits (even
    // summed over duplicate entries) stay finite.
    if (entry.bias != -std::numeric_limits<float>::infinity() &&
        !(std::fabs(entry.bias) <= kMaxLogitBias)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "logit_bias[%d] (token %d) must be in [-%g, %g] or -inf, got %g", i,
          entry.token, kMaxLogitBias, kMaxLogitBias, entry.bias));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SamplingParams::Validate(int32_t vocab_size) const {
  if (vocab_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocabulary size must not be negative, got ", vocab_size));
  }
  // Any finite temperature: <= 0 is greedy, and the smallest positive ones
  // are computed without overflow (TemperatureStep).
  RETURN_IF_ERROR(CheckFinite("temperature", temperature));
  RETURN_IF_ERROR(
      CheckIntRange("top_k", top_k, 0, std::numeric_limits<int32_t>::max()));
  RETURN_IF_ERROR(CheckRange("top_p", top_p, 0.0f, 1.0f));
  RETURN_IF_ERROR(CheckRange("min_p", min_p, 0.0f, 1.0f));
  RETURN_IF_ERROR(CheckRange("typical_p", typical_p, 0.0f, 1.0f));
  RETURN_IF_ERROR(CheckIntRange(
      "min_keep", min_keep, 0,
      vocab_size > 0 ? vocab_size : std::numeric_limits<int32_t>::max()));
  RETURN_IF_ERROR(
      CheckIntRange("repeat_last_n", repeat_last_n, 0, kMaxRepeatLastN));
  // Bounded so that penalized finite logits stay finite: a logit times or
  // over the penalty, minus the window's count times the frequency penalty.
  RETURN_IF_ERROR(CheckRange("repeat_penalty", repeat_penalty,
                             kMinRepeatPenalty, kMaxRepeatPenalty));
  RETURN_IF_ERROR(CheckRange("presence_penalty", presence_penalty,
                             -kMaxAdditivePenalty, kMaxAdditivePenalty));
  RETURN_IF_ERROR(CheckRange("frequency_penalty", frequency_penalty,
                             -kMaxAdditivePenalty, kMaxAdditivePenalty));
  RETURN_IF_ERROR(CheckLogitBias(logit_bias, vocab_size));
  RETURN_IF_ERROR(
      CheckIntRange("top_logprobs", top_logprobs, 0, kMaxTopLogprobs));
  return absl::OkStatus();
}

SamplingParams SamplingOverrides::ApplyTo(SamplingParams base) const {
  if (temperature) base.temperature = *temperature;
  if (top_k) base.top_k = *top_k;
  if (top_p) base.top_p = *top_p;
  if (min_p) base.min_p = *min_p;
  if (typical_p) base.typical_p = *typical_p;
  if (min_keep) base.min_keep = *min_keep;
  if (repeat_last_n) base.repeat_last_n = *repeat_last_n;
  if (repeat_penalty) base.repeat_penalty = *repeat_penalty;
  if (presence_penalty) base.presence_penalty = *presence_penalty;
  if (frequency_penalty) base.frequency_penalty = *frequency_penalty;
  if (seed) base.seed = *seed;
  if (logit_bias) base.logit_bias = *logit_bias;
  if (top_logprobs) base.top_logprobs = *top_logprobs;
  return base;
}

void AddIgnoreEosBias(absl::Span<const TokenId> end_of_generation_tokens,
                      SamplingParams& params) {
  for (TokenId token : end_of_generation_tokens) {
    params.logit_bias.push_back(
        LogitBias{token, -std::numeric_limits<float>::infinity()});
  }
}

}  // namespace ggufd::sampling
