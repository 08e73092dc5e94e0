#include "runtime/generation.h"

#include <utility>

#include "runtime/common/str_cat.h"

namespace ggufd {

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEos:
      return "eos";
    case FinishReason::kStopSequence:
      return "stop_sequence";
    case FinishReason::kStopToken:
      return "stop_token";
    case FinishReason::kMaxTokens:
      return "max_tokens";
    case FinishReason::kContextFull:
      return "context_full";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kConstraintComplete:
      return "constraint_complete";
  }
  return "unknown";
}

StoppingParams StoppingOverrides::ApplyTo(StoppingParams base) const {
  if (max_tokens) base.max_tokens = *max_tokens;
  if (stop) base.stop = *stop;
  if (stop_token_ids) base.stop_token_ids = *stop_token_ids;
  if (ignore_eos) base.ignore_eos = *ignore_eos;
  return base;
}

GenerationDefaults GenerationOverrides::ApplyTo(GenerationDefaults base) const {
  base.sampling = sampling.ApplyTo(std::move(base.sampling));
  base.stopping = stopping.ApplyTo(std::move(base.stopping));
  return base;
}

absl::Status ValidateStopping(const StoppingParams& params,
                              int32_t vocab_size) {
  if (params.max_tokens < 0) {
    return absl::InvalidArgumentError(
        StrCat("max_tokens must be >= 0, got ", params.max_tokens));
  }
  if (params.stop.size() > kMaxStopStrings) {
    return absl::InvalidArgumentError(StrCat("at most ", kMaxStopStrings,
                                             " stop strings, got ",
                                             params.stop.size()));
  }
  for (size_t i = 0; i < params.stop.size(); ++i) {
    if (params.stop[i].size() > kMaxStopBytes) {
      return absl::InvalidArgumentError(
          StrCat("stop[", i, "] is ", params.stop[i].size(),
                 " bytes; the limit is ", kMaxStopBytes));
    }
  }
  if (params.stop_token_ids.size() > kMaxStopTokenIds) {
    return absl::InvalidArgumentError(
        StrCat("at most ", kMaxStopTokenIds, " stop_token_ids"));
  }
  for (size_t i = 0; i < params.stop_token_ids.size(); ++i) {
    const TokenId id = params.stop_token_ids[i];
    if (id < 0 || (vocab_size > 0 && id >= vocab_size)) {
      return absl::InvalidArgumentError(StrCat("stop_token_ids[", i, "] = ", id,
                                               " is outside the vocabulary"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ggufd
