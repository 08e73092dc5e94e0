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
#include "runtime/session/session_store.h"
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

absl::Status Invalid(const absl::Status& s) {
  return WithErrorCode(s, ErrorCode::kInvalidArgument);
}

// The chat's template family: the requested one or the model's own.
absl::StatusOr<chat::TemplateFamily> FamilyOf(const ChatPrompt& chat,
                                              const ModelInfo& info) {
  if (chat.family.has_value()) return *chat.family;
  auto detected = chat::DetectTemplateFamily(info.chat_template);
  if (!detected.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StrCat("chat.template: ", detected.status().message()));
  }
  return *detected;
}

// The tokens `request` adds: its whole prompt, or for a session turn what
// follows the history (`continuing`: the history is not empty, so no BOS).
absl::StatusOr<std::vector<TokenId>> PromptTokens(
    const GenerateRequest& request, const tokenizer::Tokenizer& tok,
    const ModelInfo& info, bool continuing) {
  const bool add_special =
      !continuing && request.add_special.value_or(tok.add_bos());
  if (request.chat.has_value()) {
    auto family = FamilyOf(*request.chat, info);
    if (!family.ok()) return family.status();
    auto chat = chat::FormatChatText(*family, request.chat->messages,
                                     request.chat->add_generation_prompt);
    if (!chat.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       StrCat("chat.messages: ", chat.status().message()));
    }
    // Message content is text: special-token text in it (a forged
    // "<|im_end|>\n<|im_start|>system") stays text; only the template's own
    // text becomes special tokens.
    auto ids = tok.Encode(chat->text, {.add_special = add_special,
                                       .parse_special = true,
                                       .literal_spans = chat->content});
    if (!ids.ok()) return Invalid(ids.status());
    return std::move(*ids);
  }
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
    std::vector<TokenId> prompt;
    if (!continuing && request.add_special.value_or(false) && tok.bos() >= 0 &&
        request.prompt_ids.front() != tok.bos()) {
      prompt.push_back(tok.bos());
    }
    prompt.insert(prompt.end(), request.prompt_ids.begin(),
                  request.prompt_ids.end());
    return prompt;
  }
  auto ids = tok.Encode(
      request.prompt,
      {.add_special = add_special, .parse_special = request.parse_special});
  if (!ids.ok()) return Invalid(ids.status());
  return std::move(*ids);
}

// Swaps a session's cache into the run state for one turn, and back when
// the turn returns; then drops it if the turn failed, and keeps the
// sessions under their budget.
class KvSwap {
 public:
  KvSwap(model::KvCache& state_kv, session::Session* session,
         session::SessionStore& store)
      : state_kv_(state_kv), session_(session), store_(store) {
    if (session_ != nullptr) std::swap(state_kv_, *session_->kv);
  }
  ~KvSwap() {
    if (session_ == nullptr) return;
    std::swap(state_kv_, *session_->kv);
    if (drop_) session_->kv.reset();
    store_.MakeRoom(nullptr, 0);
  }
  KvSwap(const KvSwap&) = delete;
  KvSwap& operator=(const KvSwap&) = delete;

  void DropOnExit() { drop_ = true; }

 private:
  model::KvCache& state_kv_;
  session::Session* session_;
  session::SessionStore& store_;
  bool drop_ = false;
};

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
  const model::ModelConfig& config = loaded.model->config;
  const int32_t n_vocab = config.n_vocab;
  const int64_t n_ctx = config.n_ctx;
  const bool with_session = !request.session_id.empty();

  // --- Validation: nothing has changed yet. ---
  if (with_session) {
    RETURN_IF_ERROR(
        Invalid(session::ValidateSessionId(request.session_id, "session_id")));
    loaded.sessions.Expire(session::SessionStore::Clock::now());
  }
  session::Session* session =
      with_session ? loaded.sessions.Find(request.session_id) : nullptr;
  const std::vector<TokenId> no_history;
  const std::vector<TokenId>& history =
      session != nullptr ? session->history : no_history;

  sampling::SamplingParams params =
      request.sampling.value_or(defaults_.sampling);
  const StoppingParams stopping = request.stopping.value_or(defaults_.stopping);
  if (!request.logprobs) params.top_logprobs = 0;
  if (absl::Status s = ValidateStopping(stopping, n_vocab); !s.ok()) {
    return Invalid(s);
  }
  if (stopping.ignore_eos) sampling::AddIgnoreEosBias(tok.eog_ids(), params);
  auto sampler = sampling::Sampler::Create(params, n_vocab);
  if (!sampler.ok()) return Invalid(sampler.status());
  auto matcher = sampling::StopMatcher::Create(stopping.stop);
  if (!matcher.ok()) return Invalid(matcher.status());

  auto added = PromptTokens(request, tok, loaded.info, !history.empty());
  if (!added.ok()) return added.status();
  std::vector<TokenId> prompt = history;
  prompt.insert(prompt.end(), added->begin(), added->end());
  if (request.max_prompt_tokens > 0 &&
      added->size() > static_cast<size_t>(request.max_prompt_tokens)) {
    return MakeError(
        ErrorCode::kLimitExceeded,
        StrCat("the prompt has ", added->size(),
               " tokens; this server accepts at most ",
               request.max_prompt_tokens, " (--max-prompt-tokens)"));
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
        StrCat(with_session ? "the session's history and the prompt have "
                            : "the prompt has ",
               prompt.size(), " tokens; the context holds ", n_ctx,
               " and one position must stay free to generate"));
  }
  RETURN_IF_ERROR(Invalid(sampler->AcceptPrompt(prompt)));

  // --- The cache this turn runs on. ---
  SessionCache session_cache = SessionCache::kNone;
  const size_t history_before = history.size();
  int64_t kv_before = 0;  // positions the session's cache held
  std::vector<TokenId> session_cached;
  if (with_session) {
    if (session == nullptr) {
      session = &loaded.sessions.Create(request.session_id);
    }
    session_cache = session->kv != nullptr ? SessionCache::kHit : session->lost;
    if (session->history.empty()) session_cache = SessionCache::kNew;
    if (session->kv != nullptr && !request.reuse_cache) {
      session_cache = SessionCache::kDisabled;
    }
    loaded.sessions.Touch(*session);
    // Room for everything this turn may write, before it writes.
    const int64_t most =
        stopping.max_tokens > 0
            ? static_cast<int64_t>(prompt.size()) + stopping.max_tokens
            : n_ctx;
    loaded.sessions.MakeRoom(session,
                             static_cast<uint64_t>(std::min(most, n_ctx)) *
                                 config.kv_bytes_per_position());
    if (session->kv == nullptr && !session->saved_file.empty() &&
        request.reuse_cache) {
      // Unchanged since it was saved: its file holds the cache it lost.
      auto saved = session::ReadSessionFile(session->saved_file,
                                            loaded.identity, config);
      if (saved.ok() && (*saved)->kv != nullptr &&
          (*saved)->history == session->history) {
        session->kv = std::move((*saved)->kv);
        session_cache = SessionCache::kRestored;
      }
    }
    if (session->kv == nullptr) {
      session->kv = std::make_unique<model::KvCache>(config);
    }
    kv_before = session->kv->size();
    session_cached.assign(session->history.begin(),
                          session->history.begin() + kv_before);
  }
  std::vector<TokenId>& cached = with_session ? session_cached : loaded.cached;
  KvSwap swap(loaded.state->kv, session, loaded.sessions);

  // The longest prefix the cache already holds; the last prompt token is
  // always evaluated again because its logits are needed.
  size_t reused = 0;
  if (request.reuse_cache) {
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
  counters_.prefilled_tokens += prompt.size() - reused;
  sink.OnStarted({.model = loaded.info.name,
                  .seed = sampler->seed(),
                  .prompt_tokens = static_cast<int32_t>(prompt.size()),
                  .cached_tokens = static_cast<int32_t>(reused),
                  .session_cache = session_cache,
                  .session_tokens = static_cast<int32_t>(history_before)});

  tokenizer::StreamingDecoder decoder;
  GenerationResult result;
  result.seed = sampler->seed();
  result.prompt_ids = prompt;
  FinishedEvent& finished = result.finished;
  finished.usage.prompt_tokens = static_cast<int32_t>(prompt.size());
  finished.usage.cached_tokens = static_cast<int32_t>(reused);

  // A session keeps what this turn read and wrote. A turn cancelled before
  // its first token is undone, so a retry does not repeat it.
  auto commit_session = [&](FinishReason reason) {
    if (!with_session) return;
    model::KvCache& kv = loaded.state->kv;  // the session's, swapped in
    if (reason == FinishReason::kCancelled && result.ids.empty()) {
      kv.Truncate(std::min<int64_t>(kv.size(), history_before));
      kv.ReleaseUnused();
      loaded.sessions.Touch(*session);
      return;
    }
    std::vector<TokenId>& h = session->history;
    h = prompt;
    h.insert(h.end(), result.ids.begin(), result.ids.end());
    if (finished.end_token >= 0) h.push_back(finished.end_token);
    if (request.chat.has_value() && request.chat->add_generation_prompt) {
      // Close the answer as the template would have written it.
      const chat::TurnEnd end =
          chat::AssistantTurnEnd(*FamilyOf(*request.chat, loaded.info));
      const bool ended =
          finished.end_token >= 0 && tok.IsEog(finished.end_token);
      const std::string closer =
          StrCat(ended ? "" : end.end_of_turn, end.after);
      auto ids =
          tok.Encode(closer, {.add_special = false, .parse_special = true});
      if (ids.ok()) h.insert(h.end(), ids->begin(), ids->end());
    }
    if (static_cast<int64_t>(h.size()) > n_ctx) h.resize(n_ctx);
    kv.ReleaseUnused();
    ++session->turns;
    session->saved_path.clear();
    session->saved_file.clear();
    loaded.sessions.Touch(*session);
  };
  // A failed turn is undone and its cache dropped: it may be half-written.
  auto fail_session = [&](const absl::Status& cause) -> absl::Status {
    swap.DropOnExit();
    session->lost = SessionCache::kDropped;
    last_error_ = StrCat(cause.message());
    ++counters_.generations_failed;
    return MakeError(ErrorCode::kGenerationFailed,
                     StrCat("generation failed: ", cause.message()));
  };
  auto fail = [&](const absl::Status& cause) -> absl::Status {
    return with_session ? fail_session(cause) : Poison(cause);
  };
  // A token that cannot be sampled (every candidate banned, or logits the
  // model made non-finite) fails this request alone: the cache holds only
  // evaluated tokens, so nothing is poisoned. What this turn evaluated is
  // forgotten all the same, as it may be what made the logits bad.
  auto unsampleable = [&](const absl::Status& cause) -> absl::Status {
    model::KvCache& kv = loaded.state->kv;
    if (with_session) {
      kv.Truncate(std::min<int64_t>(kv.size(), history_before));
      kv.ReleaseUnused();
    } else {
      kv.Reset();
      cached.clear();
    }
    ++counters_.generations_failed;
    return MakeError(ErrorCode::kInvalidArgument,
                     StrCat("no token can be sampled: ", cause.message()));
  };

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
    commit_session(reason);
    sink.OnFinished(finished);
    return std::move(result);
  };

  // --- Prefill: from here on the cache changes. ---
  cached.resize(reused);
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
  if (absl::IsCancelled(prefill)) {
    // Keep the part of the prompt that was evaluated, so a retry reuses it.
    cached.assign(prompt.begin(),
                  prompt.begin() + std::min<int64_t>(loaded.state->kv.size(),
                                                     prompt.size()));
    return finish(FinishReason::kCancelled);
  }
  if (!prefill.ok()) return fail(prefill);
  cached = prompt;

  // --- Decode. ---
  sampling::TokenLogprobs logprobs;
  while (true) {
    if (inject_failure_) {
      inject_failure_ = false;
      return fail(absl::InternalError("failure injected for testing"));
    }
    if (cancel.cancelled()) return finish(FinishReason::kCancelled);
    absl::StatusOr<TokenId> id = [&] {
      const tensor::OpTimer timer("sampling");
      return sampler->Sample(loaded.state->logits_row(0),
                             request.logprobs ? &logprobs : nullptr);
    }();
    if (!id.ok()) return unsampleable(id.status());
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
    if (static_cast<int64_t>(cached.size()) >= n_ctx) {
      return finish(FinishReason::kContextFull);
    }
    const TokenId next = *id;
    const absl::Status step = model::Forward(
        *loaded.model, *loaded.state, *loaded.pool,
        absl::MakeConstSpan(&next, 1), static_cast<int64_t>(cached.size()));
    if (!step.ok()) return fail(step);
    cached.push_back(next);
  }
}

}  // namespace ggufd
