// The Runtime: the one owner of a loaded model and everything that changes
// while it serves (KV cache, tokenizer, token vectors, sampling defaults, RNG,
// scratch buffers, logits, diagnostics). It is deliberately not thread-safe:
// the service confines each Runtime to one worker thread, and a guard counts
// concurrent entries (a debug build asserts on them) so tests can prove that
// no two operations ever overlapped.
//
// Every operation returns a status carrying an ErrorCode (error_code.h). An
// operation that fails half-way poisons the runtime: later operations answer
// kGenerationFailed until Reset() or Release().
#ifndef GGUFD_RUNTIME_RUNTIME_H_
#define GGUFD_RUNTIME_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/cancel_token.h"
#include "runtime/embedding.h"
#include "runtime/error_code.h"
#include "runtime/generation.h"

namespace ggufd {

// How a runtime keeps its sessions (runtime/session).
struct SessionLimits {
  // KV cache bytes idle sessions may hold; 0 = a quarter of the machine's
  // memory, at most 8 GiB.
  uint64_t memory_bytes = 0;
  int32_t ttl_seconds = 3600;
  int32_t max_sessions = 1024;
};

struct LoadOptions {
  // Context length in tokens; 0 = the model's own, capped at 8192.
  int32_t context_length = 0;
  // Compute threads for this runtime; 0 = all cores.
  int32_t threads = 0;
  // Refuse the load if KV cache + scratch would exceed this; 0 = no limit.
  uint64_t memory_limit_bytes = 0;
  // Most prompt tokens evaluated in one forward pass.
  int32_t max_batch = 512;
  SessionLimits sessions;
  // Called with a fraction in [0, 1] while loading.
  std::function<void(double)> on_progress;
};

struct ModelInfo {
  std::string path;
  std::string name;          // general.name
  std::string architecture;  // general.architecture
  std::string file_type;     // dominant weight type, e.g. "q4_1"
  uint64_t file_bytes = 0;
  uint64_t parameters = 0;
  int32_t context_length = 0;        // the runtime's context
  int32_t train_context_length = 0;  // the model's own
  int32_t vocab_size = 0;
  int32_t embedding_length = 0;
  int32_t layers = 0;
  int32_t heads = 0;
  int32_t kv_heads = 0;
  std::string chat_template;  // tokenizer.chat_template, may be empty
  TokenId bos = -1;
  TokenId eos = -1;
};

struct RuntimeCounters {
  uint64_t generations = 0;
  uint64_t generations_failed = 0;
  uint64_t generations_cancelled = 0;
  uint64_t prompt_tokens = 0;
  uint64_t cached_tokens = 0;
  uint64_t generated_tokens = 0;
  uint64_t loads = 0;
  uint64_t resets = 0;
  uint64_t prefilled_tokens = 0;
  uint64_t session_evictions = 0;
  uint64_t sessions_expired = 0;
};

struct SessionInfo {
  std::string id;
  int32_t tokens = 0;         // in the history
  int32_t cached_tokens = 0;  // of those, held in the KV cache
  uint64_t kv_bytes = 0;
  int64_t created_unix_ms = 0;
  int64_t last_used_unix_ms = 0;
  int32_t turns = 0;
  // Where it was last saved or restored from, while unchanged since.
  std::string saved_path;
};

struct SessionStats {
  int32_t sessions = 0;
  uint64_t kv_bytes = 0;
  uint64_t budget_bytes = 0;
  int32_t ttl_seconds = 0;
};

struct SavedSession {
  uint64_t file_bytes = 0;
  SessionInfo session;
};

struct Diagnostics {
  bool model_loaded = false;
  bool poisoned = false;
  ModelInfo model;
  uint64_t weights_bytes = 0;  // mapped tensor data
  uint64_t kv_cache_bytes = 0;
  uint64_t scratch_bytes = 0;
  int32_t kv_tokens_used = 0;  // positions held in the KV cache
  int32_t threads = 0;
  RuntimeCounters counters;
  Timings last_timings;
  std::string last_error;
  // Most operations ever seen inside this runtime at once; 1 when the owner
  // discipline held (0 before the first operation).
  int32_t max_concurrent_entries = 0;
  SessionStats session_stats;
  std::vector<SessionInfo> sessions;  // most recently used first
  // Runtimes sharing the loaded model (this one included).
  int32_t model_shared_by = 0;
};

struct TokenizeOptions {
  std::optional<bool> add_special;  // nullopt = the model's rule
  bool parse_special = false;
};

class Runtime {
 public:
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Loads `path`. On failure the previously loaded model (if any) stays
  // loaded and usable; on success it is replaced and the cache is empty.
  absl::Status Load(const std::string& path, const LoadOptions& options);

  // Applies `overrides` to the persistent defaults after validating the
  // result (against the vocabulary when a model is loaded); an error is
  // tagged with its field, "sampling" or "stopping" (WithField).
  absl::Status Configure(const GenerationOverrides& overrides);
  const GenerationDefaults& defaults() const { return defaults_; }

  // Generates from `request`, streaming events to `sink`. Cancellation is
  // checked between prefill chunks and between tokens; a cancelled
  // generation still ends with OnFinished (reason kCancelled) and OK.
  // An error caused by one request field is tagged with it (WithField):
  // "sampling", "stopping", "session_id", "chat.template", "chat.messages",
  // "constraint.grammar"...
  absl::StatusOr<GenerationResult> Generate(const GenerateRequest& request,
                                            GenerationSink& sink,
                                            const CancelToken& cancel);

  // One vector per text (runtime_embed.cc). Runs on a cache of its own, so
  // the runtime's cached prefix and the sessions are as they were; being
  // unable to harm them, its failures never poison. Cancellation is checked
  // between batches of texts and between chunks of a long text (kCancelled).
  // A field at fault is named at the start of the message ("texts[3]: ...").
  absl::StatusOr<EmbedResult> Embed(const EmbedRequest& request,
                                    const CancelToken& cancel);

  // Clears the KV cache and token vectors, reseeds the RNG, and clears a
  // poisoned state. The model and the sessions stay.
  absl::Status Reset();

  // Sessions (runtime/session): conversations kept between Generate calls.
  // NotFound for an unknown id.
  absl::Status DeleteSession(std::string_view id);
  // A copy of `from` as `to` (which must not exist), cut to its first
  // keep_tokens tokens when set.
  absl::StatusOr<SessionInfo> ForkSession(std::string_view from, std::string to,
                                          std::optional<int32_t> keep_tokens);
  // Writes a session to `path`; `shown_path` is how the service names the
  // file to clients.
  absl::StatusOr<SavedSession> SaveSession(std::string_view id,
                                           const std::string& path,
                                           const std::string& shown_path);
  // Reads a saved session as `id` (empty = its saved id). AlreadyExists when
  // that id exists and !replace.
  absl::StatusOr<SessionInfo> RestoreSession(const std::string& path,
                                             const std::string& shown_path,
                                             std::string id, bool replace);
  // Drops sessions idle longer than the TTL.
  void ExpireSessions();

  // Drops the model and every buffer; clears a poisoned state.
  absl::Status Release();

  Diagnostics GetDiagnostics() const;
  absl::StatusOr<ModelInfo> GetModelInfo() const;

  absl::StatusOr<std::vector<TokenId>> Tokenize(std::string_view text,
                                                const TokenizeOptions& options);
  absl::StatusOr<std::string> Detokenize(const std::vector<TokenId>& ids);

  // For tests of the poisoning rule: the next Generate fails half-way.
  void InjectFailureForTesting() { inject_failure_ = true; }

 private:
  struct Loaded;  // model, tokenizer, state: everything tied to one model
  class EntryGuard;
  class Turn;  // one Generate call (runtime_generate.cc)

  absl::Status CheckUsable() const;
  absl::Status CheckLoaded() const;
  // Folds the counters of the loaded model's sessions into counters_
  // before they go with it.
  void RetireSessions();
  // Marks the runtime poisoned after a failure half-way through an
  // operation; returns the kGenerationFailed status to answer with.
  absl::Status Poison(const absl::Status& cause);

  std::unique_ptr<Loaded> loaded_;
  GenerationDefaults defaults_;
  bool poisoned_ = false;
  bool inject_failure_ = false;
  std::string last_error_;
  RuntimeCounters counters_;
  Timings last_timings_;
  mutable std::atomic<int32_t> entries_{0};
  mutable std::atomic<int32_t> max_entries_{0};
};

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_RUNTIME_H_
