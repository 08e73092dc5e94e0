#include "runtime/model/model_config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"

namespace ggufd::model {
namespace {

// Bounds well above every released model and far below anything that could
// overflow the sizes computed from them (products stay under 2^63).
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxEmbd = int64_t{1} << 17;
constexpr int64_t kMaxFf = int64_t{1} << 20;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxHeadDim = 1024;
constexpr int64_t kMaxVocab = int64_t{1} << 22;
constexpr int64_t kMaxContext = int64_t{1} << 24;

// Reads integer key `key` and checks lo <= value <= hi. A missing key is an
// error unless `dflt` is given (>= 0).
absl::StatusOr<int64_t> ReadCount(const gguf::GgufFile& file,
                                  const std::string& key, int64_t lo,
                                  int64_t hi, int64_t dflt = -1) {
  if (!file.Has(key)) {
    if (dflt >= 0) return dflt;
    return absl::InvalidArgumentError(StrCat("missing key ", key));
  }
  absl::StatusOr<uint64_t> value = file.GetUint(key);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        StrCat("key ", key, ": ", value.status().message()));
  }
  if (*value < static_cast<uint64_t>(lo) ||
      *value > static_cast<uint64_t>(hi)) {
    return absl::InvalidArgumentError(StrCat(
        "key ", key, " = ", *value, " is out of range [", lo, ", ", hi, "]"));
  }
  return static_cast<int64_t>(*value);
}

// Whether a lower bound of ReadFloat admits the bound itself.
enum class Bound { kInclusive, kExclusive };

// Reads float key `key` (or `dflt` when it is missing) and checks that it is
// finite and within [lo, hi] (or (lo, hi]), as the float the model runs
// with: an f64 value that only rounds to the bound is refused too.
absl::StatusOr<float> ReadFloat(const gguf::GgufFile& file,
                                const std::string& key, double lo, double hi,
                                double dflt,
                                Bound lo_bound = Bound::kInclusive) {
  absl::StatusOr<double> value = file.GetFloatOr(key, dflt);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        StrCat("key ", key, ": ", value.status().message()));
  }
  const float f = static_cast<float>(*value);
  const bool above_lo = lo_bound == Bound::kExclusive ? f > lo : f >= lo;
  if (!std::isfinite(*value) || !std::isfinite(f) || !above_lo || f > hi) {
    return absl::InvalidArgumentError(
        StrCat("key ", key, " = ", *value, " is out of range ",
               lo_bound == Bound::kExclusive ? "(" : "[", lo, ", ", hi, "]"));
  }
  return f;
}

// The vocabulary size: the tokenizer's token count, {arch}.vocab_size and
// the rows of token_embd.weight must agree wherever they are present.
absl::StatusOr<int64_t> ReadVocabSize(const gguf::GgufFile& file,
                                      const std::string& arch) {
  int64_t n_vocab = 0;
  std::string source;
  auto agree = [&](int64_t n, const std::string& what) -> absl::Status {
    if (n_vocab != 0 && n != n_vocab) {
      return absl::InvalidArgumentError(
          StrCat("vocabulary size mismatch: ", what, " has ", n, " but ",
                 source, " has ", n_vocab));
    }
    n_vocab = n;
    source = what;
    return absl::OkStatus();
  };
  if (file.Has(kTokenListKey)) {
    const uint64_t n = file.ArrayLength(kTokenListKey);
    if (n < 1 || n > static_cast<uint64_t>(kMaxVocab)) {
      return absl::InvalidArgumentError(StrCat("key ", kTokenListKey, " has ",
                                               n, " tokens, out of range [1, ",
                                               kMaxVocab, "]"));
    }
    RETURN_IF_ERROR(agree(static_cast<int64_t>(n), std::string(kTokenListKey)));
  }
  const std::string vocab_key = KeyName(arch, ArchKey::kVocabSize);
  if (file.Has(vocab_key)) {
    ASSIGN_OR_RETURN(int64_t n, ReadCount(file, vocab_key, 1, kMaxVocab));
    RETURN_IF_ERROR(agree(n, vocab_key));
  }
  const std::string embd_name = TensorName(TensorRole::kTokenEmbd);
  const gguf::TensorInfo* embd = file.FindTensor(embd_name);
  if (embd == nullptr) {
    return absl::InvalidArgumentError(StrCat("missing tensor ", embd_name));
  }
  if (embd->n_dims != 2 || embd->dims[1] < 1 ||
      embd->dims[1] > static_cast<uint64_t>(kMaxVocab)) {
    return absl::InvalidArgumentError(StrCat("tensor ", embd_name,
                                             " is not a [n_embd, n_vocab] "
                                             "matrix with 1 <= n_vocab <= ",
                                             kMaxVocab));
  }
  RETURN_IF_ERROR(
      agree(static_cast<int64_t>(embd->dims[1]), embd_name + " (rows)"));
  return n_vocab;
}

// Chooses the context length of this instance (see ConfigOptions).
absl::Status ResolveContext(const ConfigOptions& options, ModelConfig& c) {
  const std::string train_key = KeyName(c.arch, ArchKey::kContextLength);
  const uint64_t per_position = c.kv_bytes_per_position();
  const uint64_t fits = options.max_kv_bytes / per_position;
  if (options.n_ctx < 0) {
    return absl::InvalidArgumentError(
        StrCat("n_ctx ", options.n_ctx, " is negative"));
  }
  if (options.n_ctx > 0) {
    if (options.n_ctx > c.n_ctx_train) {
      return absl::InvalidArgumentError(StrCat("n_ctx ", options.n_ctx,
                                               " exceeds ", train_key, " = ",
                                               c.n_ctx_train));
    }
    if (static_cast<uint64_t>(options.n_ctx) > fits) {
      return absl::InvalidArgumentError(StrCat(
          "n_ctx ", options.n_ctx, " needs ", options.n_ctx * per_position,
          " bytes of KV cache, over the limit of ", options.max_kv_bytes));
    }
    c.n_ctx = options.n_ctx;
    return absl::OkStatus();
  }
  if (fits < 1) {
    return absl::InvalidArgumentError(
        StrCat("one position of KV cache needs ", per_position,
               " bytes, over the limit of ", options.max_kv_bytes));
  }
  c.n_ctx = std::min<int64_t>(
      c.n_ctx_train,
      static_cast<int64_t>(std::min<uint64_t>(fits, kMaxContext)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelConfig> LoadModelConfig(const gguf::GgufFile& file,
                                            const ConfigOptions& options) {
  ModelConfig c;
  absl::StatusOr<std::string_view> arch = file.GetString(kArchitectureKey);
  if (!arch.ok()) {
    return absl::InvalidArgumentError(
        StrCat("key ", kArchitectureKey, ": ", arch.status().message()));
  }
  ASSIGN_OR_RETURN(c.traits, FindArchTraits(*arch));
  c.arch = std::string(*arch);
  auto key = [&](ArchKey k) { return KeyName(c.arch, k); };

  ASSIGN_OR_RETURN(c.n_layer,
                   ReadCount(file, key(ArchKey::kBlockCount), 1, kMaxLayers));
  ASSIGN_OR_RETURN(
      c.n_embd, ReadCount(file, key(ArchKey::kEmbeddingLength), 1, kMaxEmbd));
  ASSIGN_OR_RETURN(
      c.n_ff, ReadCount(file, key(ArchKey::kFeedForwardLength), 1, kMaxFf));
  ASSIGN_OR_RETURN(c.n_head,
                   ReadCount(file, key(ArchKey::kHeadCount), 1, kMaxHeads));
  ASSIGN_OR_RETURN(c.n_kv_head, ReadCount(file, key(ArchKey::kHeadCountKv), 1,
                                          kMaxHeads, c.n_head));
  if (c.n_head % c.n_kv_head != 0) {
    return absl::InvalidArgumentError(
        StrCat("key ", key(ArchKey::kHeadCountKv), " = ", c.n_kv_head,
               " does not divide ", key(ArchKey::kHeadCount), " = ", c.n_head));
  }
  // Without an explicit key_length the head size is n_embd / n_head.
  if (!file.Has(key(ArchKey::kKeyLength)) && c.n_embd % c.n_head != 0) {
    return absl::InvalidArgumentError(StrCat(
        "key ", key(ArchKey::kHeadCount), " = ", c.n_head, " does not divide ",
        key(ArchKey::kEmbeddingLength), " = ", c.n_embd));
  }
  ASSIGN_OR_RETURN(c.head_dim, ReadCount(file, key(ArchKey::kKeyLength), 1,
                                         kMaxHeadDim, c.n_embd / c.n_head));
  ASSIGN_OR_RETURN(int64_t v_dim, ReadCount(file, key(ArchKey::kValueLength), 1,
                                            kMaxHeadDim, c.head_dim));
  if (v_dim != c.head_dim) {
    return absl::InvalidArgumentError(
        StrCat("key ", key(ArchKey::kValueLength), " = ", v_dim,
               " differs from ", key(ArchKey::kKeyLength), " = ", c.head_dim));
  }
  ASSIGN_OR_RETURN(c.n_rot, ReadCount(file, key(ArchKey::kRopeDimensionCount),
                                      0, kMaxHeadDim, c.head_dim));
  if (c.n_rot < 2 || c.n_rot > c.head_dim || c.n_rot % 2 != 0) {
    return absl::InvalidArgumentError(
        StrCat("key ", key(ArchKey::kRopeDimensionCount), " = ", c.n_rot,
               " must be even and in [2, head_dim = ", c.head_dim, "]"));
  }
  ASSIGN_OR_RETURN(c.n_ctx_train, ReadCount(file, key(ArchKey::kContextLength),
                                            1, kMaxContext));
  // RMSNorm divides by sqrt(mean(x^2) + eps): eps = 0 turns an all-zero row
  // into 0/0.
  ASSIGN_OR_RETURN(c.rms_eps, ReadFloat(file, key(ArchKey::kRmsEpsilon), 0, 1,
                                        1e-5, Bound::kExclusive));
  ASSIGN_OR_RETURN(
      c.rope_freq_base,
      ReadFloat(file, key(ArchKey::kRopeFreqBase), 1e-3, 1e12, 10000.0));
  if (c.traits->logit_softcap) {
    ASSIGN_OR_RETURN(c.logit_softcap,
                     ReadFloat(file, key(ArchKey::kLogitSoftcap), 0, 1e6, 0));
  }
  if (c.traits->sliding_window) {
    ASSIGN_OR_RETURN(
        c.sliding_window,
        ReadCount(file, key(ArchKey::kSlidingWindow), 0, kMaxContext, 0));
    c.swa_period = c.traits->swa_period;
  }
  c.rope_freq_base_swa =
      c.traits->swa_rope_base > 0 ? c.traits->swa_rope_base : c.rope_freq_base;
  // 1 / sqrt(head_dim), except where llama.cpp follows Gemma 3 27B's
  // query_pre_attn_scalar of n_embd / n_head (it tells that model by its 62
  // layers).
  const bool gemma3_27b = c.arch == "gemma3" && c.n_layer == 62;
  c.attention_scale =
      1.0f / std::sqrt(static_cast<float>(gemma3_27b ? c.n_embd / c.n_head
                                                     : c.head_dim));
  ASSIGN_OR_RETURN(c.n_vocab, ReadVocabSize(file, c.arch));

  c.kv_type = options.kv_type;
  RETURN_IF_ERROR(ResolveContext(options, c));
  return c;
}

}  // namespace ggufd::model
