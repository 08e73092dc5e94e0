// What a Generate call takes and what it reports: the request, the stopping
// rules, the events streamed while it runs and the final result.
#ifndef GGUFD_RUNTIME_GENERATION_H_
#define GGUFD_RUNTIME_GENERATION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/chat/chat_template.h"
#include "runtime/sampling/sampling_params.h"

namespace ggufd {

namespace grammar {
struct Grammar;  // runtime/grammar/grammar.h
}  // namespace grammar

using TokenId = int32_t;

// When generation ends, besides end-of-generation tokens.
struct StoppingParams {
  // Most tokens to generate; 0 = until the context is full.
  int32_t max_tokens = 256;
  // Text that ends generation; it is not emitted. At most 16, each <= 256 B.
  std::vector<std::string> stop;
  // Token ids that end generation (besides the model's EOS/EOT).
  std::vector<TokenId> stop_token_ids;
  // Keep generating through end-of-generation tokens.
  bool ignore_eos = false;
};

// Bounds on client-supplied stopping rules.
inline constexpr size_t kMaxStopStrings = 16;
inline constexpr size_t kMaxStopBytes = 256;
inline constexpr size_t kMaxStopTokenIds = 64;

// InvalidArgument naming the field for out-of-range values; `vocab_size`
// bounds stop_token_ids (0 = no model yet, unchecked).
absl::Status ValidateStopping(const StoppingParams& params, int32_t vocab_size);

// A partial StoppingParams: the fields set replace those of the params they
// apply to (a runtime's defaults), the rest keep theirs. A list set empty
// clears it; mind that `.stop = {}` leaves it unset.
struct StoppingOverrides {
  std::optional<int32_t> max_tokens;
  std::optional<std::vector<std::string>> stop;
  std::optional<std::vector<TokenId>> stop_token_ids;
  std::optional<bool> ignore_eos;

  // `base` with the fields set here replaced.
  StoppingParams ApplyTo(StoppingParams base) const;
};

// The persistent defaults a runtime applies to every Generate (Configure).
struct GenerationDefaults {
  sampling::SamplingParams sampling;
  StoppingParams stopping;
};

// What a Configure changes in the defaults, or a Generate for itself.
struct GenerationOverrides {
  sampling::SamplingOverrides sampling;
  StoppingOverrides stopping;

  // `base` with the fields set here replaced.
  GenerationDefaults ApplyTo(GenerationDefaults base) const;
};

// A conversation to format with a chat template (runtime/chat).
struct ChatPrompt {
  std::vector<chat::ChatMessage> messages;
  // End with the assistant's turn header so the model answers next.
  bool add_generation_prompt = true;
  // nullopt = the family detected from the model's tokenizer.chat_template.
  std::optional<chat::TemplateFamily> family;
};

// What a session's KV cache held when a turn started.
enum class SessionCache {
  kNone,      // not a session turn
  kHit,       // it held the history: only new tokens were evaluated
  kNew,       // a new (or empty) session
  kEvicted,   // evicted for the memory budget: the history was evaluated
  kDisabled,  // reuse_cache was off: the history was evaluated
  kDropped,   // a failed turn dropped it: the history was evaluated
  kRestored,  // evicted, and reloaded from the file it was saved to
};

// Restricts the output to a formal language (runtime/grammar): only tokens
// that keep the text a prefix of a sentence are sampled, and generation
// ends (kConstraintComplete) once nothing more can follow.
struct Constraint {
  enum class Kind {
    kGrammar,     // llama.cpp's GBNF, starting at rule "root"
    kJsonSchema,  // a JSON Schema document (JSON text)
    kRegex,       // a regular expression the whole output matches
  };
  Kind kind = Kind::kGrammar;
  std::string text;
};

struct GenerateRequest {
  // One of `chat`, `prompt_ids` (when non-empty) and `prompt` (text,
  // tokenized with the model's tokenizer) is used, in that order. An empty
  // prompt starts from BOS alone.
  std::string prompt;
  std::vector<TokenId> prompt_ids;
  std::optional<ChatPrompt> chat;
  // Continue this session (created when new): the prompt is appended to its
  // history (a chat prompt holds only the new messages), and the tokens
  // generated are appended after it. Empty = no session.
  std::string session_id;
  // Add BOS (and EOS where the model wants it); nullopt = the model's rule.
  std::optional<bool> add_special;
  // Treat special-token text in `prompt` as those tokens.
  bool parse_special = true;
  // Overrides of the runtime's defaults for this request only, field by
  // field.
  sampling::SamplingOverrides sampling;
  StoppingOverrides stopping;
  // A server's bound on the tokens one request generates
  // (--max-new-tokens): it lowers a larger stopping.max_tokens, and 0
  // ("until the context is full") too. 0 = no bound.
  int32_t max_new_tokens = 0;
  // Token-level output: logprob of each chosen token and its top-N
  // alternatives (sampling.top_logprobs).
  bool logprobs = false;
  // Report prefill progress every this many tokens (0 = never).
  int32_t progress_interval = 0;
  // Reuse the KV cache for the longest common prefix with the previous
  // generation (the rest is evaluated).
  bool reuse_cache = true;
  // Most tokens this request may add (its prompt, after a session's
  // history); 0 = no limit beyond the context.
  int32_t max_prompt_tokens = 0;
  // Restricts the output; nullopt = unconstrained.
  std::optional<Constraint> constraint;
  // `constraint` compiled already (grammar::CompileConstraint), so that a
  // server compiles it once, at admission, off the runtime's thread; when
  // null, the runtime compiles `constraint` itself.
  std::shared_ptr<const grammar::Grammar> compiled_constraint;
};

enum class FinishReason {
  kEos,                 // the model produced an end-of-generation token
  kStopSequence,        // a stop string matched
  kStopToken,           // a requested stop token id was produced
  kMaxTokens,           // max_tokens reached
  kContextFull,         // no room left in the context
  kCancelled,           // the cancel token was set
  kConstraintComplete,  // the constraint admits nothing more
};

std::string_view FinishReasonName(FinishReason reason);  // "eos", "stop"...

struct Usage {
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;  // prompt tokens reused from the KV cache
  int32_t completion_tokens = 0;
};

struct Timings {
  double prefill_ms = 0;      // evaluating the prompt
  double first_token_ms = 0;  // from start to the first token event
  double decode_ms = 0;       // generating after the first token
  double total_ms = 0;
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 0;
};

struct StartedEvent {
  std::string model;  // general.name or the file name
  uint64_t seed = 0;  // the seed actually used
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;
  SessionCache session_cache = SessionCache::kNone;
  int32_t session_tokens = 0;  // the session's history before this turn
};

struct ProgressEvent {
  int32_t processed = 0;  // prompt tokens evaluated so far
  int32_t total = 0;
};

struct TopLogprob {
  TokenId id = 0;
  float logprob = 0;
};

struct TokenEvent {
  TokenId id = 0;
  std::string bytes;  // the token's own bytes (may be part of a character)
  std::string text;   // whole UTF-8 text released with this token (may be
                      // empty while a character or a stop string is pending)
  float logprob = 0;  // set when the request asked for logprobs
  std::vector<TopLogprob> top;
};

struct FinishedEvent {
  FinishReason reason = FinishReason::kEos;
  // The end-of-generation or stop token that ended generation (not emitted
  // as a token), or -1; with logprobs, its logprob and alternatives.
  TokenId end_token = -1;
  float end_logprob = 0;
  std::vector<TopLogprob> end_top;
  std::string stop_sequence;  // the stop string that matched, if any
  std::string text;           // held-back text released at the end
  Usage usage;
  Timings timings;
};

// Receives the events of one Generate, on the thread that runs it. The
// service's implementation buffers them for the gRPC side; the CLI's prints.
class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  virtual void OnStarted(const StartedEvent& event) = 0;
  virtual void OnProgress(const ProgressEvent& event) = 0;
  virtual void OnToken(const TokenEvent& event) = 0;
  virtual void OnFinished(const FinishedEvent& event) = 0;
};

// Everything a Generate produced, returned as well as streamed.
struct GenerationResult {
  std::vector<TokenId> prompt_ids;  // the prompt as evaluated (BOS included)
  std::vector<TokenId> ids;
  std::string text;
  FinishedEvent finished;
  uint64_t seed = 0;
};

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_GENERATION_H_
