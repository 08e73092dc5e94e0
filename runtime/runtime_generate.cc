// Runtime::Generate: prompt -> prefill (batched, reusing the cached prefix)
// -> sample / emit / evaluate one token at a time until a stopping rule
// fires. Everything before the first change to the KV cache is validation
// and fails cleanly; a failure after it poisons the runtime, or for a
// session turn drops that session's cache.
#include <algorithm>
#include <chrono>
#include <optional>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/grammar/constraint.h"
#include "runtime/grammar/matcher.h"
#include "runtime/model/forward.h"
#include "runtime/prompt_tokens.h"
#include "runtime/runtime.h"
#include "runtime/runtime_state.h"
#include "runtime/sampling/logprobs.h"
#include "runtime/sampling/sampler.h"
#include "runtime/sampling/stop_matcher.h"
#include "runtime/sampling/token_filter.h"
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

// An invalid value of the request's `field`.
absl::Status InvalidField(const absl::Status& s, std::string_view field) {
  return WithField(Invalid(s), field);
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

// The longest prefix of `prompt` the cache already holds, short of the last
// prompt token: its logits are needed, so it is always evaluated again.
size_t ReusablePrefix(const std::vector<TokenId>& cached,
                      const std::vector<TokenId>& prompt) {
  size_t reused = 0;
  while (reused < cached.size() && reused < prompt.size() &&
         cached[reused] == prompt[reused]) {
    ++reused;
  }
  return std::min(reused, prompt.size() - 1);
}

// The constraint's matcher as the sampler sees it.
class ConstraintFilter : public sampling::TokenFilter {
 public:
  explicit ConstraintFilter(grammar::Matcher& matcher) : matcher_(matcher) {}
  absl::StatusOr<bool> Allows(TokenId token) override {
    return matcher_.Allows(token);
  }
  absl::Status Mask(absl::Span<float> logits) override {
    return matcher_.MaskLogits(logits);
  }

 private:
  grammar::Matcher& matcher_;
};

}  // namespace

// One Generate call: what it was asked, what it decided, and what it carries
// from one step to the next. A step answers an error (the turn is over) or
// OK; it sets end_ when the turn is to finish normally.
class Runtime::Turn {
 public:
  Turn(Runtime& runtime, const GenerateRequest& request, GenerationSink& sink,
       const CancelToken& cancel)
      : rt_(runtime),
        loaded_(*runtime.loaded_),
        tok_(*loaded_.tokenizer),
        config_(loaded_.model->config),
        request_(request),
        sink_(sink),
        cancel_(cancel),
        with_session_(!request.session_id.empty()) {}

  absl::Status FindSession();
  absl::Status ReadParams();
  absl::Status ReadPrompt();
  void OpenCache();
  void Start();
  absl::Status Prefill();
  absl::Status DecodeStep();
  bool done() const { return end_.has_value(); }
  absl::StatusOr<GenerationResult> Finish();

 private:
  bool IsEndToken(TokenId id);
  void Emit(TokenId id);
  void CommitSession(FinishReason reason);
  absl::Status Fail(const absl::Status& cause);
  absl::Status Unsampleable(const absl::Status& cause);
  absl::Status OpenConstraint();
  std::shared_ptr<const grammar::TokenTrie> VocabTrie();

  Runtime& rt_;
  Loaded& loaded_;
  const tokenizer::Tokenizer& tok_;
  const model::ModelConfig& config_;
  const GenerateRequest& request_;
  GenerationSink& sink_;
  const CancelToken& cancel_;
  const bool with_session_;

  session::Session* session_ = nullptr;
  size_t history_before_ = 0;  // tokens in the session's history
  StoppingParams stopping_;
  std::optional<sampling::Sampler> sampler_;
  std::optional<sampling::StopMatcher> matcher_;
  // The request's constraint (null when none), and it as the sampler's
  // filter.
  std::unique_ptr<grammar::Matcher> constraint_;
  std::optional<ConstraintFilter> filter_;
  std::vector<TokenId> prompt_;  // the history and what this turn adds

  SessionCache session_cache_ = SessionCache::kNone;
  std::vector<TokenId> session_cached_;
  std::vector<TokenId>* cached_ = nullptr;  // what the cache in use holds
  std::optional<KvSwap> swap_;
  size_t reused_ = 0;

  Clock::time_point start_;
  tokenizer::StreamingDecoder decoder_;
  // The sampler's answer for the last token, overwritten by each step.
  sampling::TokenLogprobs logprobs_;
  GenerationResult result_;
  std::optional<FinishReason> end_;
};

absl::Status Runtime::Turn::FindSession() {
  if (!with_session_) return absl::OkStatus();
  RETURN_IF_ERROR(InvalidField(
      session::ValidateSessionId(request_.session_id, "session_id"),
      "session_id"));
  loaded_.sessions.Expire(session::SessionStore::Clock::now());
  session_ = loaded_.sessions.Find(request_.session_id);
  if (session_ != nullptr) history_before_ = session_->history.size();
  return absl::OkStatus();
}

// The request's overrides over the runtime's defaults, bounded by the
// server's max_new_tokens, checked against this model's vocabulary.
absl::Status Runtime::Turn::ReadParams() {
  const int32_t n_vocab = config_.n_vocab;
  sampling::SamplingParams params =
      request_.sampling.ApplyTo(rt_.defaults_.sampling);
  stopping_ = request_.stopping.ApplyTo(rt_.defaults_.stopping);
  if (!request_.logprobs) params.top_logprobs = 0;
  const int32_t bound = request_.max_new_tokens;
  if (bound > 0 &&
      (stopping_.max_tokens <= 0 || stopping_.max_tokens > bound)) {
    stopping_.max_tokens = bound;
  }
  if (absl::Status s = ValidateStopping(stopping_, n_vocab); !s.ok()) {
    return InvalidField(s, "stopping");
  }
  if (stopping_.ignore_eos) sampling::AddIgnoreEosBias(tok_.eog_ids(), params);
  auto sampler = sampling::Sampler::Create(params, n_vocab);
  if (!sampler.ok()) return InvalidField(sampler.status(), "sampling");
  sampler_.emplace(std::move(*sampler));
  auto matcher = sampling::StopMatcher::Create(stopping_.stop);
  if (!matcher.ok()) return InvalidField(matcher.status(), "stopping");
  matcher_.emplace(std::move(*matcher));
  return OpenConstraint();
}

// Compiles the request's constraint unless the service did, and starts
// matching it over this model's vocabulary. Errors name the request field,
// in the message ("constraint.grammar: ...") and as their tag.
absl::Status Runtime::Turn::OpenConstraint() {
  if (!request_.constraint.has_value() &&
      request_.compiled_constraint == nullptr) {
    return absl::OkStatus();
  }
  const std::string_view field =
      request_.constraint.has_value()
          ? grammar::ConstraintField(request_.constraint->kind)
          : std::string_view("constraint");
  auto invalid = [field](const absl::Status& s) {
    return WithField(MakeError(ErrorCode::kInvalidArgument,
                               StrCat(field, ": ", s.message())),
                     field);
  };
  std::shared_ptr<const grammar::Grammar> compiled =
      request_.compiled_constraint;
  if (compiled == nullptr) {
    auto made = grammar::CompileConstraint(*request_.constraint);
    if (!made.ok()) return invalid(made.status());
    compiled = *std::move(made);
  }
  auto ids = grammar::ResolveTokenRefs(
      *compiled, config_.n_vocab,
      [this](std::string_view text) -> absl::StatusOr<std::vector<int32_t>> {
        return tok_.Encode(text, {.add_special = false, .parse_special = true});
      });
  if (!ids.ok()) return invalid(ids.status());
  auto matcher = grammar::Matcher::Create(std::move(compiled), VocabTrie(),
                                          *std::move(ids));
  if (!matcher.ok()) return invalid(matcher.status());
  constraint_ = *std::move(matcher);
  filter_.emplace(*constraint_);
  return absl::OkStatus();
}

// The model's tokens as the grammar matcher reads them, built once per
// loaded model: llama.cpp's pieces (special tokens as their text) for every
// row of the logits.
std::shared_ptr<const grammar::TokenTrie> Runtime::Turn::VocabTrie() {
  if (loaded_.token_trie == nullptr) {
    const int32_t n = config_.n_vocab;
    std::vector<std::string> pieces(n);
    std::vector<bool> eog(n, false);
    for (int32_t id = 0; id < n && id < tok_.vocab_size(); ++id) {
      pieces[id] = std::string(tok_.TokenToPiece(id, /*special=*/true));
      eog[id] = tok_.IsEog(id);
    }
    loaded_.token_trie = std::make_shared<const grammar::TokenTrie>(
        grammar::TokenTrie::Build(std::move(pieces), eog));
  }
  return loaded_.token_trie;
}

absl::Status Runtime::Turn::ReadPrompt() {
  auto added = PromptTokens(request_, tok_, loaded_.info, history_before_ > 0);
  if (!added.ok()) return added.status();
  if (session_ != nullptr) prompt_ = session_->history;
  prompt_.insert(prompt_.end(), added->begin(), added->end());
  if (request_.max_prompt_tokens > 0 &&
      added->size() > static_cast<size_t>(request_.max_prompt_tokens)) {
    return MakeError(
        ErrorCode::kLimitExceeded,
        StrCat("the prompt has ", added->size(),
               " tokens; this server accepts at most ",
               request_.max_prompt_tokens, " (--max-prompt-tokens)"));
  }
  if (prompt_.empty()) {
    if (tok_.bos() < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the prompt is empty and the model has no BOS token");
    }
    prompt_.push_back(tok_.bos());
  }
  const int64_t n_ctx = config_.n_ctx;
  if (static_cast<int64_t>(prompt_.size()) >= n_ctx) {
    return MakeError(
        ErrorCode::kContextOverflow,
        StrCat(with_session_ ? "the session's history and the prompt have "
                             : "the prompt has ",
               prompt_.size(), " tokens; the context holds ", n_ctx,
               " and one position must stay free to generate"));
  }
  return Invalid(sampler_->AcceptPrompt(prompt_));
}

// Picks the cache this turn runs on (a session's, made room for and
// restored from its file when it lost it, or the runtime's own) and how
// much of the prompt it already holds.
void Runtime::Turn::OpenCache() {
  if (with_session_) {
    session::SessionStore& sessions = loaded_.sessions;
    if (session_ == nullptr) session_ = &sessions.Create(request_.session_id);
    session::Session& s = *session_;
    session_cache_ = s.kv != nullptr ? SessionCache::kHit : s.lost;
    if (s.history.empty()) session_cache_ = SessionCache::kNew;
    if (s.kv != nullptr && !request_.reuse_cache) {
      session_cache_ = SessionCache::kDisabled;
    }
    sessions.Touch(s);
    // Room for everything this turn may write, before it writes.
    const int64_t n_ctx = config_.n_ctx;
    const int64_t most =
        stopping_.max_tokens > 0
            ? static_cast<int64_t>(prompt_.size()) + stopping_.max_tokens
            : n_ctx;
    sessions.MakeRoom(&s, static_cast<uint64_t>(std::min(most, n_ctx)) *
                              config_.kv_bytes_per_position());
    if (s.kv == nullptr && !s.saved_file.empty() && request_.reuse_cache) {
      // Unchanged since it was saved: its file holds the cache it lost.
      auto saved =
          session::ReadSessionFile(s.saved_file, loaded_.identity, config_);
      if (saved.ok() && (*saved)->kv != nullptr &&
          (*saved)->history == s.history) {
        s.kv = std::move((*saved)->kv);
        session_cache_ = SessionCache::kRestored;
      }
    }
    if (s.kv == nullptr) s.kv = std::make_unique<model::KvCache>(config_);
    session_cached_.assign(s.history.begin(), s.history.begin() + s.kv->size());
  }
  cached_ = with_session_ ? &session_cached_ : &loaded_.cached;
  swap_.emplace(loaded_.state->kv, session_, loaded_.sessions);
  if (request_.reuse_cache) reused_ = ReusablePrefix(*cached_, prompt_);
}

void Runtime::Turn::Start() {
  start_ = Clock::now();
  RuntimeCounters& counters = rt_.counters_;
  ++counters.generations;
  counters.prompt_tokens += prompt_.size();
  counters.cached_tokens += reused_;
  counters.prefilled_tokens += prompt_.size() - reused_;
  sink_.OnStarted({.model = loaded_.info.name,
                   .seed = sampler_->seed(),
                   .prompt_tokens = static_cast<int32_t>(prompt_.size()),
                   .cached_tokens = static_cast<int32_t>(reused_),
                   .session_cache = session_cache_,
                   .session_tokens = static_cast<int32_t>(history_before_)});
  result_.seed = sampler_->seed();
  result_.prompt_ids = prompt_;
  result_.finished.usage.prompt_tokens = static_cast<int32_t>(prompt_.size());
  result_.finished.usage.cached_tokens = static_cast<int32_t>(reused_);
}

// From here on the cache changes.
absl::Status Runtime::Turn::Prefill() {
  std::vector<TokenId>& cached = *cached_;
  cached.resize(reused_);
  model::ForwardOptions options;
  options.cancelled = [this] { return cancel_.cancelled(); };
  if (request_.progress_interval > 0) {
    int64_t last_report = 0;
    options.progress = [this, last_report](int64_t done,
                                           int64_t total) mutable {
      if (done - last_report >= request_.progress_interval || done == total) {
        last_report = done;
        sink_.OnProgress({.processed = static_cast<int32_t>(reused_ + done),
                          .total = static_cast<int32_t>(reused_ + total)});
      }
    };
  }
  const absl::Status prefill =
      model::Forward(*loaded_.model, *loaded_.state, *loaded_.pool,
                     absl::MakeConstSpan(prompt_).subspan(reused_),
                     static_cast<int64_t>(reused_), options);
  result_.finished.timings.prefill_ms = MillisSince(start_);
  if (absl::IsCancelled(prefill)) {
    // Keep the part of the prompt that was evaluated, so a retry reuses it.
    cached.assign(prompt_.begin(),
                  prompt_.begin() + std::min<int64_t>(loaded_.state->kv.size(),
                                                      prompt_.size()));
    end_ = FinishReason::kCancelled;
    return absl::OkStatus();
  }
  if (!prefill.ok()) return Fail(prefill);
  cached = prompt_;
  return absl::OkStatus();
}

// Samples a token from the last logits, emits it, and evaluates it unless
// it ends the turn.
absl::Status Runtime::Turn::DecodeStep() {
  if (rt_.inject_failure_) {
    rt_.inject_failure_ = false;
    return Fail(absl::InternalError("failure injected for testing"));
  }
  if (cancel_.cancelled()) {
    end_ = FinishReason::kCancelled;
    return absl::OkStatus();
  }
  if (constraint_ != nullptr && constraint_->IsComplete()) {
    // A grammar whose only sentence is empty: nothing to generate.
    end_ = FinishReason::kConstraintComplete;
    return absl::OkStatus();
  }
  absl::StatusOr<TokenId> id = [&] {
    const tensor::OpTimer timer("sampling");
    return sampler_->Sample(loaded_.state->logits_row(0),
                            request_.logprobs ? &logprobs_ : nullptr,
                            filter_.has_value() ? &*filter_ : nullptr);
  }();
  if (!id.ok()) return Unsampleable(id.status());
  if (IsEndToken(*id)) return absl::OkStatus();
  if (constraint_ != nullptr) {
    if (absl::Status s = constraint_->Accept(*id); !s.ok()) {
      return Unsampleable(s);
    }
  }
  Emit(*id);
  if (end_.has_value()) return absl::OkStatus();
  std::vector<TokenId>& cached = *cached_;
  const TokenId next = *id;
  const absl::Status step = model::Forward(
      *loaded_.model, *loaded_.state, *loaded_.pool,
      absl::MakeConstSpan(&next, 1), static_cast<int64_t>(cached.size()));
  if (!step.ok()) return Fail(step);
  cached.push_back(next);
  return absl::OkStatus();
}

// An end-of-generation or stop token ends the turn unseen: it is reported
// in the finished event, not as generated text.
bool Runtime::Turn::IsEndToken(TokenId id) {
  const std::vector<TokenId>& stop_ids = stopping_.stop_token_ids;
  const bool eog = !stopping_.ignore_eos && tok_.IsEog(id);
  if (!eog &&
      std::find(stop_ids.begin(), stop_ids.end(), id) == stop_ids.end()) {
    return false;
  }
  FinishedEvent& finished = result_.finished;
  finished.end_token = id;
  if (request_.logprobs) {
    finished.end_logprob = logprobs_.chosen.logprob;
    for (const auto& alt : logprobs_.top()) {
      finished.end_top.push_back({.id = alt.token, .logprob = alt.logprob});
    }
  }
  end_ = eog ? FinishReason::kEos : FinishReason::kStopToken;
  return true;
}

// Streams a generated token, then ends the turn if a stop string, the token
// budget or the context says so: the check follows the event so that the
// last token is still sent.
void Runtime::Turn::Emit(TokenId id) {
  result_.ids.push_back(id);
  TokenEvent event;
  event.id = id;
  event.bytes = std::string(tok_.TokenToPiece(id));
  const bool stopped = matcher_->Push(decoder_.Push(event.bytes), &event.text);
  result_.text += event.text;
  if (request_.logprobs) {
    event.logprob = logprobs_.chosen.logprob;
    for (const auto& alt : logprobs_.top()) {
      event.top.push_back({.id = alt.token, .logprob = alt.logprob});
    }
  }
  if (result_.ids.size() == 1) {
    result_.finished.timings.first_token_ms = MillisSince(start_);
  }
  sink_.OnToken(event);
  if (stopped) {
    end_ = FinishReason::kStopSequence;
  } else if (constraint_ != nullptr && constraint_->IsComplete()) {
    end_ = FinishReason::kConstraintComplete;
  } else if (stopping_.max_tokens > 0 &&
             static_cast<int64_t>(result_.ids.size()) >= stopping_.max_tokens) {
    end_ = FinishReason::kMaxTokens;
  } else if (static_cast<int64_t>(cached_->size()) >= config_.n_ctx) {
    end_ = FinishReason::kContextFull;
  }
}

absl::StatusOr<GenerationResult> Runtime::Turn::Finish() {
  const FinishReason reason = *end_;
  FinishedEvent& finished = result_.finished;
  sampling::StopMatcher& matcher = *matcher_;
  finished.reason = reason;
  if (reason == FinishReason::kStopSequence) {
    finished.stop_sequence = std::string(matcher.matched_stop());
  } else {
    // Bytes held for an unfinished character or a possible stop string
    // are released now (an unfinished character as U+FFFD).
    matcher.Push(decoder_.Flush(), &finished.text);
    if (!matcher.stopped()) matcher.Flush(&finished.text);
    if (matcher.stopped()) {
      finished.reason = FinishReason::kStopSequence;
      finished.stop_sequence = std::string(matcher.matched_stop());
    }
  }
  result_.text += finished.text;
  const int64_t generated = static_cast<int64_t>(result_.ids.size());
  finished.usage.completion_tokens = static_cast<int32_t>(generated);
  Timings& t = finished.timings;
  t.total_ms = MillisSince(start_);
  t.decode_ms = std::max(0.0, t.total_ms - t.first_token_ms);
  t.prefill_tokens_per_s = PerSecond(prompt_.size() - reused_, t.prefill_ms);
  t.decode_tokens_per_s =
      PerSecond(std::max<int64_t>(0, generated - 1), t.decode_ms);
  rt_.last_timings_ = t;
  rt_.counters_.generated_tokens += result_.ids.size();
  if (reason == FinishReason::kCancelled) {
    ++rt_.counters_.generations_cancelled;
  }
  CommitSession(reason);
  sink_.OnFinished(finished);
  return std::move(result_);
}

// A session keeps what this turn read and wrote. A turn cancelled before
// its first token is undone, so a retry does not repeat it.
void Runtime::Turn::CommitSession(FinishReason reason) {
  if (!with_session_) return;
  model::KvCache& kv = loaded_.state->kv;  // the session's, swapped in
  if (reason == FinishReason::kCancelled && result_.ids.empty()) {
    kv.Truncate(std::min<int64_t>(kv.size(), history_before_));
    kv.ReleaseUnused();
    loaded_.sessions.Touch(*session_);
    return;
  }
  const FinishedEvent& finished = result_.finished;
  std::vector<TokenId>& h = session_->history;
  h = prompt_;
  h.insert(h.end(), result_.ids.begin(), result_.ids.end());
  if (finished.end_token >= 0) h.push_back(finished.end_token);
  if (request_.chat.has_value() && request_.chat->add_generation_prompt) {
    // Close the answer as the template would have written it.
    const chat::TurnEnd end =
        chat::AssistantTurnEnd(*FamilyOf(*request_.chat, loaded_.info));
    const bool ended =
        finished.end_token >= 0 && tok_.IsEog(finished.end_token);
    const std::string closer = StrCat(ended ? "" : end.end_of_turn, end.after);
    auto ids =
        tok_.Encode(closer, {.add_special = false, .parse_special = true});
    if (ids.ok()) h.insert(h.end(), ids->begin(), ids->end());
  }
  if (static_cast<int64_t>(h.size()) > config_.n_ctx) h.resize(config_.n_ctx);
  kv.ReleaseUnused();
  ++session_->turns;
  session_->saved_path.clear();
  session_->saved_file.clear();
  loaded_.sessions.Touch(*session_);
}

// A failure after the cache changed: a session's turn is undone and its
// cache dropped, as it may be half-written; the runtime's own cache poisons
// the runtime.
absl::Status Runtime::Turn::Fail(const absl::Status& cause) {
  if (!with_session_) return rt_.Poison(cause);
  swap_->DropOnExit();
  session_->lost = SessionCache::kDropped;
  rt_.last_error_ = StrCat(cause.message());
  ++rt_.counters_.generations_failed;
  return MakeError(ErrorCode::kGenerationFailed,
                   StrCat("generation failed: ", cause.message()));
}

// A token that cannot be sampled (every candidate banned, or logits the
// model made non-finite) fails this request alone: the cache holds only
// evaluated tokens, so nothing is poisoned. What this turn evaluated is
// forgotten all the same, as it may be what made the logits bad.
absl::Status Runtime::Turn::Unsampleable(const absl::Status& cause) {
  model::KvCache& kv = loaded_.state->kv;
  if (with_session_) {
    kv.Truncate(std::min<int64_t>(kv.size(), history_before_));
    kv.ReleaseUnused();
  } else {
    kv.Reset();
    cached_->clear();
  }
  ++rt_.counters_.generations_failed;
  return MakeError(ErrorCode::kInvalidArgument,
                   StrCat("no token can be sampled: ", cause.message()));
}

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
  Turn turn(*this, request, sink, cancel);
  // Validation: nothing changes until all of it has passed.
  RETURN_IF_ERROR(turn.FindSession());
  RETURN_IF_ERROR(turn.ReadParams());
  RETURN_IF_ERROR(turn.ReadPrompt());
  turn.OpenCache();
  turn.Start();
  RETURN_IF_ERROR(turn.Prefill());
  while (!turn.done()) RETURN_IF_ERROR(turn.DecodeStep());
  return turn.Finish();
}

}  // namespace ggufd
