#include "runtime/runtime.h"

#include <filesystem>
#include <thread>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/runtime_state.h"

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

std::string DominantType(const gguf::GgufFile& file) {
  uint64_t best_bytes = 0;
  std::string best = "none";
  absl::flat_hash_map<uint32_t, uint64_t> bytes_by_type;
  for (const auto& t : file.tensors()) {
    if (t.n_dims < 2) continue;
    const uint32_t id = static_cast<uint32_t>(t.type);
    const uint64_t total = bytes_by_type[id] += t.n_bytes;
    if (total > best_bytes) {
      best_bytes = total;
      best = tensor::TensorTypeName(id);
    }
  }
  return best;
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
  auto report = [&](double fraction) {
    if (options.on_progress) options.on_progress(fraction);
  };
  report(0.0);
  auto file = gguf::GgufFile::Open(path);
  if (!file.ok()) return ModelError(file.status());
  report(0.2);

  auto next = std::make_unique<Loaded>();
  next->options = options;
  auto tok = tokenizer::Tokenizer::FromGguf(**file);
  if (!tok.ok()) return ModelError(tok.status());
  next->tokenizer = std::make_unique<tokenizer::Tokenizer>(std::move(*tok));
  report(0.4);

  model::ConfigOptions config_options;
  const uint64_t train_ctx =
      (*file)
          ->GetUintOr(StrCat((*file)
                                 ->GetStringOr("general.architecture", "llama")
                                 .value_or("llama"),
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
  const uint64_t file_bytes = (*file)->file_size();
  const std::string file_type = DominantType(**file);
  auto loaded_model = model::LoadModel(std::move(*file), config_options);
  if (!loaded_model.ok()) return ModelError(loaded_model.status());
  next->model = std::move(*loaded_model);
  const model::ModelConfig& config = next->model->config;
  if (next->tokenizer->vocab_size() > config.n_vocab) {
    return MakeError(
        ErrorCode::kInvalidModel,
        StrCat("the tokenizer has ", next->tokenizer->vocab_size(),
               " tokens but the model's output has only ", config.n_vocab));
  }
  report(0.7);

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
  const gguf::GgufFile& f = *next->model->file;
  info.path = path;
  info.architecture = config.arch;
  info.name = std::string(f.GetStringOr("general.name", "").value_or(""));
  if (info.name.empty())
    info.name = std::filesystem::path(path).stem().string();
  info.file_type = file_type;
  info.file_bytes = file_bytes;
  for (const auto& t : f.tensors()) info.parameters += t.n_elements;
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

  // Nothing can fail any more: replace the old model.
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

absl::Status Runtime::Configure(const GenerationDefaults& defaults) {
  EntryGuard guard(*this);
  if (poisoned_) return CheckUsable();
  const int32_t vocab = loaded_ ? loaded_->tokenizer->vocab_size() : 0;
  absl::Status valid = defaults.sampling.Validate(vocab);
  if (valid.ok()) valid = ValidateStopping(defaults.stopping, vocab);
  if (!valid.ok()) return WithErrorCode(valid, ErrorCode::kInvalidArgument);
  defaults_ = defaults;
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

absl::Status Runtime::Release() {
  EntryGuard guard(*this);
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
    for (const auto& t : loaded_->model->file->tensors())
      d.weights_bytes += t.n_bytes;
    d.scratch_bytes = loaded_->state->scratch_bytes();
    d.kv_cache_bytes = loaded_->state->bytes() - d.scratch_bytes;
    d.kv_tokens_used = static_cast<int32_t>(loaded_->cached.size());
    d.threads = loaded_->pool->size();
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
