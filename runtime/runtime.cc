#include "runtime/runtime.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/runtime_state.h"
#include "runtime/shared_models.h"

namespace ggufd {

Runtime::Runtime() = default;
Runtime::~Runtime() = default;

namespace {

int32_t DefaultThreads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int32_t>(n);
}

// Hard ceiling on a runtime's thread count: more is a typo, not a machine.
constexpr int32_t kMaxThreads = 256;
// Context used when the model's own is larger and none was requested.
constexpr int32_t kDefaultContextCap = 8192;

absl::Status ModelError(absl::Status status) {
  ErrorCode code = ErrorCode::kInvalidModel;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      code = ErrorCode::kModelNotFound;
      break;
    case absl::StatusCode::kUnimplemented:
      code = ErrorCode::kUnsupportedModel;
      break;
    case absl::StatusCode::kResourceExhausted:
      code = ErrorCode::kOutOfMemory;
      break;
    case absl::StatusCode::kPermissionDenied:
      code = ErrorCode::kPermissionDenied;
      break;
    default:
      break;
  }
  return WithErrorCode(std::move(status), code);
}

session::StoreLimits StoreLimitsOf(const SessionLimits& limits) {
  uint64_t budget = limits.memory_bytes;
  if (budget == 0) {
    const uint64_t physical = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                              static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    budget = std::min(physical / 4, uint64_t{8} << 30);
  }
  return {.budget_bytes = budget,
          .ttl = std::chrono::seconds(limits.ttl_seconds),
          .max_sessions = limits.max_sessions};
}

}  // namespace

absl::Status Runtime::Load(const std::string& path,
                           const LoadOptions& options) {
  EntryGuard guard(*this);
  if (options.context_length < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "context_length must be >= 0");
  }
  if (options.threads < 0 || options.threads > kMaxThreads) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StrCat("threads must be in [0, ", kMaxThreads, "]"));
  }
  if (options.max_batch < 1 || options.max_batch > 4096) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "max_batch must be in [1, 4096]");
  }
  if (options.sessions.ttl_seconds < 1 || options.sessions.max_sessions < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the session TTL and the session cap must be >= 1");
  }
  auto report = [&](double fraction) {
    if (options.on_progress) options.on_progress(fraction);
  };
  report(0.0);
  auto shared = AcquireSharedModel(path, report);
  if (!shared.ok()) return ModelError(shared.status());
  auto next = std::make_unique<Loaded>();
  next->options = options;
  next->shared = *shared;
  next->tokenizer = next->shared->tokenizer.get();
  const gguf::GgufFile& f = *next->shared->model->file;

  model::ConfigOptions config_options;
  const uint64_t train_ctx =
      f.GetUintOr(
           StrCat(
               f.GetStringOr("general.architecture", "llama").value_or("llama"),
               ".context_length"),
           0)
          .value_or(0);
  config_options.n_ctx = options.context_length;
  if (options.context_length == 0 && train_ctx > kDefaultContextCap) {
    config_options.n_ctx = kDefaultContextCap;
  }
  if (options.memory_limit_bytes > 0) {
    config_options.max_kv_bytes = options.memory_limit_bytes;
  }
  // The file is fine (it loaded); what fails now are the options asked for.
  auto instance = model::ShareModel(*next->shared->model, config_options);
  if (!instance.ok()) {
    return WithErrorCode(instance.status(), ErrorCode::kInvalidArgument);
  }
  next->model = std::move(*instance);
  const model::ModelConfig& config = next->model->config;
  report(0.8);

  const int32_t threads =
      options.threads > 0 ? options.threads : DefaultThreads();
  next->pool = std::make_unique<tensor::ThreadPool>(threads);
  auto state =
      model::RunState::Create(*next->model, {.max_batch = options.max_batch,
                                             .max_logit_rows = 1,
                                             .max_threads = threads});
  if (!state.ok()) return ModelError(state.status());
  next->state = std::move(*state);
  if (options.memory_limit_bytes > 0 &&
      next->state->bytes() > options.memory_limit_bytes) {
    return MakeError(ErrorCode::kOutOfMemory,
                     StrCat("KV cache and scratch need ", next->state->bytes(),
                            " bytes, over the memory limit of ",
                            options.memory_limit_bytes));
  }

  ModelInfo& info = next->info;
  info.path = path;
  info.architecture = config.arch;
  info.name = std::string(f.GetStringOr("general.name", "").value_or(""));
  if (info.name.empty())
    info.name = std::filesystem::path(path).stem().string();
  info.file_type = next->shared->file_type;
  info.file_bytes = f.file_size();
  info.parameters = next->shared->parameters;
  info.context_length = static_cast<int32_t>(config.n_ctx);
  info.train_context_length = static_cast<int32_t>(config.n_ctx_train);
  info.vocab_size = next->tokenizer->vocab_size();
  info.embedding_length = config.n_embd;
  info.layers = config.n_layer;
  info.heads = config.n_head;
  info.kv_heads = config.n_kv_head;
  info.chat_template =
      std::string(f.GetStringOr("tokenizer.chat_template", "").value_or(""));
  info.bos = next->tokenizer->bos();
  info.eos = next->tokenizer->eos();
  next->sessions.set_limits(StoreLimitsOf(options.sessions));
  next->identity = {.fingerprint = next->shared->fingerprint,
                    .file_bytes = info.file_bytes,
                    .n_layer = static_cast<uint32_t>(config.n_layer),
                    .kv_dim = static_cast<uint32_t>(config.kv_dim()),
                    .n_vocab = static_cast<uint32_t>(config.n_vocab),
                    .kv_type = static_cast<uint32_t>(config.kv_type),
                    .architecture = config.arch,
                    .name = info.name};

  // Nothing can fail any more: replace the old model (and its sessions).
  RetireSessions();
  loaded_ = std::move(next);
  poisoned_ = false;
  last_error_.clear();
  ++counters_.loads;
  report(1.0);
  return absl::OkStatus();
}

absl::Status Runtime::CheckUsable() const {
  if (poisoned_) {
    return MakeError(ErrorCode::kGenerationFailed,
                     StrCat("the runtime is poisoned by an earlier failure (",
                            last_error_, "); Reset or Release it"));
  }
  if (loaded_ == nullptr) {
    return MakeError(ErrorCode::kNoModel, "no model is loaded");
  }
  return absl::OkStatus();
}

absl::Status Runtime::Configure(const GenerationOverrides& overrides) {
  EntryGuard guard(*this);
  if (poisoned_) return CheckUsable();
  const int32_t vocab = loaded_ ? loaded_->tokenizer->vocab_size() : 0;
  GenerationDefaults defaults = overrides.ApplyTo(defaults_);
  if (absl::Status s = defaults.sampling.Validate(vocab); !s.ok()) {
    return WithField(WithErrorCode(s, ErrorCode::kInvalidArgument), "sampling");
  }
  if (absl::Status s = ValidateStopping(defaults.stopping, vocab); !s.ok()) {
    return WithField(WithErrorCode(s, ErrorCode::kInvalidArgument), "stopping");
  }
  defaults_ = std::move(defaults);
  return absl::OkStatus();
}

absl::Status Runtime::Reset() {
  EntryGuard guard(*this);
  if (loaded_ != nullptr) {
    loaded_->state->Reset();
    loaded_->cached.clear();
  }
  poisoned_ = false;
  last_error_.clear();
  ++counters_.resets;
  return absl::OkStatus();
}

void Runtime::RetireSessions() {
  if (loaded_ == nullptr) return;
  const session::StoreCounters& c = loaded_->sessions.counters();
  counters_.session_evictions += c.evictions;
  counters_.sessions_expired += c.expired;
}

absl::Status Runtime::Release() {
  EntryGuard guard(*this);
  RetireSessions();
  loaded_.reset();
  poisoned_ = false;
  last_error_.clear();
  return absl::OkStatus();
}

Diagnostics Runtime::GetDiagnostics() const {
  EntryGuard guard(*this);
  Diagnostics d;
  d.model_loaded = loaded_ != nullptr;
  d.poisoned = poisoned_;
  d.counters = counters_;
  d.last_timings = last_timings_;
  d.last_error = last_error_;
  d.max_concurrent_entries = max_entries_.load();
  if (loaded_ != nullptr) {
    d.model = loaded_->info;
    d.weights_bytes = loaded_->shared->weights_bytes;
    d.scratch_bytes = loaded_->state->scratch_bytes();
    d.kv_cache_bytes = loaded_->state->bytes() - d.scratch_bytes;
    d.kv_tokens_used = static_cast<int32_t>(loaded_->cached.size());
    d.threads = loaded_->pool->size();
    const session::SessionStore& store = loaded_->sessions;
    d.counters.session_evictions += store.counters().evictions;
    d.counters.sessions_expired += store.counters().expired;
    d.sessions = ListSessionInfos(store);
    d.session_stats = {
        .sessions = static_cast<int32_t>(store.size()),
        .kv_bytes = store.kv_bytes(),
        .budget_bytes = store.limits().budget_bytes,
        .ttl_seconds = static_cast<int32_t>(store.limits().ttl.count())};
    d.model_shared_by = static_cast<int32_t>(loaded_->shared.use_count());
  }
  return d;
}

absl::StatusOr<ModelInfo> Runtime::GetModelInfo() const {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckUsable());
  return loaded_->info;
}

absl::StatusOr<std::vector<TokenId>> Runtime::Tokenize(
    std::string_view text, const TokenizeOptions& options) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckUsable());
  auto ids = loaded_->tokenizer->Encode(
      text, {.add_special =
                 options.add_special.value_or(loaded_->tokenizer->add_bos()),
             .parse_special = options.parse_special});
  if (!ids.ok())
    return WithErrorCode(ids.status(), ErrorCode::kInvalidArgument);
  return std::move(*ids);
}

absl::StatusOr<std::string> Runtime::Detokenize(
    const std::vector<TokenId>& ids) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckUsable());
  auto text = loaded_->tokenizer->Decode(ids);
  if (!text.ok())
    return WithErrorCode(text.status(), ErrorCode::kInvalidArgument);
  return std::move(*text);
}

}  // namespace ggufd
