// What distinguishes one transformer architecture of the llama family from
// another, as data: one row per architecture in one aligned table (after
// llama.cpp's llama-arch.cpp), plus the GGUF key and tensor names the loader
// reads. The forward pass is written once and consults these traits.
#ifndef GGUFD_RUNTIME_MODEL_ARCH_TRAITS_H_
#define GGUFD_RUNTIME_MODEL_ARCH_TRAITS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ggufd::model {

// Normalization before attention / FFN. Every supported family uses RMSNorm
// (x / sqrt(mean(x^2) + eps) * w); LayerNorm families would add a value.
enum class NormKind { kRmsNorm };

// How RoPE pairs the values of one head: kNormal rotates adjacent pairs
// (x[2i], x[2i+1]) (llama.cpp's LLAMA_ROPE_TYPE_NORM, used for `llama` whose
// converter already permuted Q/K); kNeox rotates (x[i], x[i + n_rot/2]).
enum class RopeStyle { kNormal, kNeox };

// The gate activation of the gated FFN: down(act(gate(x)) * up(x)).
enum class FfnActivation { kSilu, kGeluTanh };

struct ArchTraits {
  std::string_view name;  // value of general.architecture
  NormKind norm;
  RopeStyle rope;
  bool qkv_bias;  // attn_{q,k,v}.bias are added after the projections
  bool qk_norm;   // attn_{q,k}_norm: RMSNorm over each head of q, k
  FfnActivation activation;
  bool post_norms;       // post_attention_norm / post_ffw_norm on the branch
  bool embedding_scale;  // embeddings are multiplied by sqrt(n_embd)
  bool logit_softcap;    // reads {arch}.final_logit_softcapping
  bool sliding_window;   // reads {arch}.attention.sliding_window
  bool tied_embeddings;  // output.weight may be absent: use token_embd
  // With a sliding window: layer il attends globally when il % swa_period
  // == swa_period - 1 and within the window otherwise (Gemma 3: 5 local
  // layers, then 1 global); 0 puts every layer in the window.
  int swa_period;
  // RoPE base of the sliding-window layers (Gemma 3: 10000, while global
  // layers use {arch}.rope.freq_base); 0: the same base everywhere.
  float swa_rope_base;
  // The attention scale multiplies the queries before q.k (Gemma's
  // query_pre_attn_scalar; llama.cpp scales Q in F32, so its F16 copy for
  // the product is rounded after scaling) rather than the scores.
  bool query_prescale;
};

// The traits of `arch`, or InvalidArgument naming it (and the supported
// ones) when ggufd has no row for it.
absl::StatusOr<const ArchTraits*> FindArchTraits(std::string_view arch);

// Hyperparameter keys, stored as "{arch}.<suffix>".
enum class ArchKey {
  kContextLength,
  kEmbeddingLength,
  kBlockCount,
  kFeedForwardLength,
  kHeadCount,
  kHeadCountKv,
  kKeyLength,
  kValueLength,
  kRmsEpsilon,
  kRopeDimensionCount,
  kRopeFreqBase,
  kVocabSize,
  kLogitSoftcap,
  kSlidingWindow,
};

// The full key name for `arch`, e.g. "llama.attention.head_count".
std::string KeyName(std::string_view arch, ArchKey key);

// Architecture-independent keys.
inline constexpr std::string_view kArchitectureKey = "general.architecture";
inline constexpr std::string_view kTokenListKey = "tokenizer.ggml.tokens";

// Tensors of a model. Per-layer tensors are named "blk.N.<suffix>".
enum class TensorRole {
  kTokenEmbd,
  kOutputNorm,
  kOutput,
  kRopeFreqs,
  kAttnNorm,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnOutput,
  kAttnQBias,
  kAttnKBias,
  kAttnVBias,
  kAttnQNorm,
  kAttnKNorm,
  kPostAttnNorm,
  kFfnNorm,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kPostFfnNorm,
};

// The tensor name of `role` (layer is used only for per-layer roles).
std::string TensorName(TensorRole role, int layer = 0);

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_ARCH_TRAITS_H_
