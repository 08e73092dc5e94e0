// Runtime::Generate: prompt -> prefill (batched, reusing the cached prefix)
// -> sample / emit / evaluate one token at a time until a stopping rule
// fires. Everything before the first change to the KV cache is validation
// and fails cleanly; a failure after it poisons the runtime.
#include <algorithm>
#include <chrono>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/model/forward.h"
#include "runtime/runtime.h"
#include "runtime/runtime_state.h"
#include "runtime/sampling/logprobs.h"
#include "runtime/sampling/sampler.h"
#include "runtime/sampling/stop_matcher.h"
#include "runtime/tensor/op_profile.h"
#include "runtime/tokenizer/streaming_decoder.h"

namespace ggufd {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

double PerSecond(int64_t n, double ms) {
  return ms > 0 ? n * 1000.0 / ms : 0.0;
}

}  // namespace

absl::Status Runtime::Poison(const absl::Status& cause) {
  poisoned_ = true;
  last_error_ = StrCat(cause.message());
  ++counters_.generations_failed;
  return MakeError(ErrorCode::kGenerationFailed,
                   StrCat("generation failed: ", cause.message()));
}

absl::StatusOr<GenerationResult> Runtime::Generate(
    const GenerateRequest& request, GenerationSink& sink,
    const CancelToken& cancel) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckUsable());
  Loaded& loaded = *loaded_;
  const tokenizer::Tokenizer& tok = *loaded.tokenizer;
  const int32_t n_vocab = loaded.model->config.n_vocab;
  const int64_t n_ctx = loaded.model->config.n_ctx;
  auto invalid = [](const absl::Status& s) {
    return WithErrorCode(s, ErrorCode::kInvalidArgument);
  };

  // --- Validation: nothing has changed yet. ---
  sampling::SamplingParams params =
      request.sampling.value_or(defaults_.sampling);
  const StoppingParams stopping = request.stopping.value_or(defaults_.stopping);
  if (!request.logprobs) params.top_logprobs = 0;
  if (absl::Status s = ValidateStopping(stopping, n_vocab); !s.ok()) {
    return invalid(s);
  }
  if (stopping.ignore_eos) sampling::AddIgnoreEosBias(tok.eog_ids(), params);
  auto sampler = sampling::Sampler::Create(params, n_vocab);
  if (!sampler.ok()) return invalid(sampler.status());
  auto matcher = sampling::StopMatcher::Create(stopping.stop);
  if (!matcher.ok()) return invalid(matcher.status());

  std::vector<TokenId> prompt;
  if (!request.prompt_ids.empty()) {
    for (size_t i = 0; i < request.prompt_ids.size(); ++i) {
      const TokenId id = request.prompt_ids[i];
      if (id < 0 || id >= tok.vocab_size()) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            StrCat("prompt_ids[", i, "] = ", id,
                   " is outside the vocabulary of ", tok.vocab_size()));
      }
    }
    if (request.add_special.value_or(false) && tok.bos() >= 0 &&
        request.prompt_ids.front() != tok.bos()) {
      prompt.push_back(tok.bos());
    }
    prompt.insert(prompt.end(), request.prompt_ids.begin(),
                  request.prompt_ids.end());
  } else {
    auto ids =
        tok.Encode(request.prompt,
                   {.add_special = request.add_special.value_or(tok.add_bos()),
                    .parse_special = request.parse_special});
    if (!ids.ok()) return invalid(ids.status());
    prompt = std::move(*ids);
  }
  if (prompt.empty()) {
    if (tok.bos() < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the prompt is empty and the model has no BOS token");
    }
    prompt.push_back(tok.bos());
  }
  if (static_cast<int64_t>(prompt.size()) >= n_ctx) {
    return MakeError(
        ErrorCode::kContextOverflow,
        StrCat("the prompt has ", prompt.size(), " tokens; the context holds ",
               n_ctx, " and one position must stay free to generate"));
  }
  RETURN_IF_ERROR(invalid(sampler->AcceptPrompt(prompt)));

  // The longest prefix the cache already holds; the last prompt token is
  // always evaluated again because its logits are needed.
  size_t reused = 0;
  if (request.reuse_cache) {
    const auto& cached = loaded.cached;
    while (reused < cached.size() && reused < prompt.size() &&
           cached[reused] == prompt[reused]) {
      ++reused;
    }
    reused = std::min(reused, prompt.size() - 1);
  }

  const Clock::time_point start = Clock::now();
  ++counters_.generations;
  counters_.prompt_tokens += prompt.size();
  counters_.cached_tokens += reused;
  sink.OnStarted({.model = loaded.info.name,
                  .seed = sampler->seed(),
                  .prompt_tokens = static_cast<int32_t>(prompt.size()),
                  .cached_tokens = static_cast<int32_t>(reused)});

  tokenizer::StreamingDecoder decoder;
  GenerationResult result;
  result.seed = sampler->seed();
  result.prompt_ids = prompt;
  FinishedEvent& finished = result.finished;
  finished.usage.prompt_tokens = static_cast<int32_t>(prompt.size());
  finished.usage.cached_tokens = static_cast<int32_t>(reused);
  auto finish = [&](FinishReason reason) -> absl::StatusOr<GenerationResult> {
    finished.reason = reason;
    if (reason == FinishReason::kStopSequence) {
      finished.stop_sequence = std::string(matcher->matched_stop());
    } else {
      // Bytes held for an unfinished character or a possible stop string
      // are released now (an unfinished character as U+FFFD).
      matcher->Push(decoder.Flush(), &finished.text);
      if (!matcher->stopped()) matcher->Flush(&finished.text);
      if (matcher->stopped()) {
        finished.reason = FinishReason::kStopSequence;
        finished.stop_sequence = std::string(matcher->matched_stop());
      }
    }
    result.text += finished.text;
    finished.usage.completion_tokens = static_cast<int32_t>(result.ids.size());
    Timings& t = finished.timings;
    t.total_ms = MillisSince(start);
    t.decode_ms = std::max(0.0, t.total_ms - t.first_token_ms);
    t.prefill_tokens_per_s = PerSecond(prompt.size() - reused, t.prefill_ms);
    t.decode_tokens_per_s = PerSecond(
        std::max<int64_t>(0, static_cast<int64_t>(result.ids.size()) - 1),
        t.decode_ms);
    last_timings_ = t;
    counters_.generated_tokens += result.ids.size();
    if (reason == FinishReason::kCancelled) ++counters_.generations_cancelled;
    sink.OnFinished(finished);
    return std::move(result);
  };

  // --- Prefill: from here on the cache changes. ---
  loaded.cached.resize(reused);
  model::ForwardOptions forward_options;
  forward_options.cancelled = [&cancel] { return cancel.cancelled(); };
  if (request.progress_interval > 0) {
    int64_t last_report = 0;
    forward_options.progress = [&, last_report](int64_t done,
                                                int64_t total) mutable {
      if (done - last_report >= request.progress_interval || done == total) {
        last_report = done;
        sink.OnProgress({.processed = static_cast<int32_t>(reused + done),
                         .total = static_cast<int32_t>(reused + total)});
      }
    };
  }
  const absl::Status prefill =
      model::Forward(*loaded.model, *loaded.state, *loaded.pool,
                     absl::MakeConstSpan(prompt).subspan(reused),
                     static_cast<int64_t>(reused), forward_options);
  finished.timings.prefill_ms = MillisSince(start);
  if (absl::IsCancelled(prefill)) return finish(FinishReason::kCancelled);
  if (!prefill.ok()) return Poison(prefill);
  loaded.cached = prompt;

  // --- Decode. ---
  sampling::TokenLogprobs logprobs;
  while (true) {
    if (inject_failure_) {
      inject_failure_ = false;
      return Poison(absl::InternalError("failure injected for testing"));
    }
    if (cancel.cancelled()) return finish(FinishReason::kCancelled);
    absl::StatusOr<TokenId> id = [&] {
      const tensor::OpTimer timer("sampling");
      return sampler->Sample(loaded.state->logits_row(0),
                             request.logprobs ? &logprobs : nullptr);
    }();
    if (!id.ok()) return Poison(id.status());
    const bool eog = !stopping.ignore_eos && tok.IsEog(*id);
    if (eog || std::find(stopping.stop_token_ids.begin(),
                         stopping.stop_token_ids.end(),
                         *id) != stopping.stop_token_ids.end()) {
      finished.end_token = *id;
      if (request.logprobs) {
        finished.end_logprob = logprobs.chosen.logprob;
        for (const auto& alt : logprobs.top()) {
          finished.end_top.push_back({.id = alt.token, .logprob = alt.logprob});
        }
      }
      return finish(eog ? FinishReason::kEos : FinishReason::kStopToken);
    }
    result.ids.push_back(*id);
    TokenEvent event;
    event.id = *id;
    event.bytes = std::string(tok.TokenToPiece(*id));
    const bool stopped = matcher->Push(decoder.Push(event.bytes), &event.text);
    result.text += event.text;
    if (request.logprobs) {
      event.logprob = logprobs.chosen.logprob;
      for (const auto& alt : logprobs.top()) {
        event.top.push_back({.id = alt.token, .logprob = alt.logprob});
      }
    }
    if (result.ids.size() == 1)
      finished.timings.first_token_ms = MillisSince(start);
    sink.OnToken(event);
    if (stopped) return finish(FinishReason::kStopSequence);
    if (stopping.max_tokens > 0 &&
        static_cast<int64_t>(result.ids.size()) >= stopping.max_tokens) {
      return finish(FinishReason::kMaxTokens);
    }
    if (static_cast<int64_t>(loaded.cached.size()) >= n_ctx) {
      return finish(FinishReason::kContextFull);
    }
    const TokenId next = *id;
    const absl::Status step =
        model::Forward(*loaded.model, *loaded.state, *loaded.pool,
                       absl::MakeConstSpan(&next, 1),
                       static_cast<int64_t>(loaded.cached.size()));
    if (!step.ok()) return Poison(step);
    loaded.cached.push_back(next);
  }
}

}  // namespace ggufd
