#include "runtime/model/arch_traits.h"

#include <array>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/common/str_cat.h"

namespace ggufd::model {
namespace {

using enum NormKind;
using enum RopeStyle;
using enum FfnActivation;

// One row per architecture. Columns: name, norm, rope, qkv_bias, qk_norm,
// activation, post_norms, embedding_scale, logit_softcap, sliding_window,
// tied_embeddings, swa_period, swa_rope_base, query_prescale. Qwen's and
// Gemma's converters keep the HF q/k order, which pairs (i, i + n_rot/2):
// neox RoPE.
constexpr ArchTraits kArchitectures[] = {
    // clang-format off
    {"llama",  kRmsNorm, kNormal, false, false, kSilu,     false, false, false, false, true, 0, 0,     false},
    {"qwen2",  kRmsNorm, kNeox,   true,  false, kSilu,     false, false, false, false, true, 0, 0,     false},
    {"qwen3",  kRmsNorm, kNeox,   false, true,  kSilu,     false, false, false, false, true, 0, 0,     false},
    {"gemma3", kRmsNorm, kNeox,   false, true,  kGeluTanh, true,  true,  false, true,  true, 6, 10000, true},
    // clang-format on
};

// Suffixes of the "{arch}.*" keys, indexed by ArchKey.
constexpr std::string_view kKeySuffixes[] = {
    "context_length",                    // kContextLength
    "embedding_length",                  // kEmbeddingLength
    "block_count",                       // kBlockCount
    "feed_forward_length",               // kFeedForwardLength
    "attention.head_count",              // kHeadCount
    "attention.head_count_kv",           // kHeadCountKv
    "attention.key_length",              // kKeyLength
    "attention.value_length",            // kValueLength
    "attention.layer_norm_rms_epsilon",  // kRmsEpsilon
    "rope.dimension_count",              // kRopeDimensionCount
    "rope.freq_base",                    // kRopeFreqBase
    "vocab_size",                        // kVocabSize
    "final_logit_softcapping",           // kLogitSoftcap
    "attention.sliding_window",          // kSlidingWindow
};
static_assert(std::size(kKeySuffixes) ==
              static_cast<size_t>(ArchKey::kSlidingWindow) + 1);

struct TensorNameRow {
  std::string_view name;
  bool per_layer;
};

// Tensor names, indexed by TensorRole.
constexpr TensorNameRow kTensorNames[] = {
    {"token_embd.weight", false},          // kTokenEmbd
    {"output_norm.weight", false},         // kOutputNorm
    {"output.weight", false},              // kOutput
    {"rope_freqs.weight", false},          // kRopeFreqs
    {"attn_norm.weight", true},            // kAttnNorm
    {"attn_q.weight", true},               // kAttnQ
    {"attn_k.weight", true},               // kAttnK
    {"attn_v.weight", true},               // kAttnV
    {"attn_output.weight", true},          // kAttnOutput
    {"attn_q.bias", true},                 // kAttnQBias
    {"attn_k.bias", true},                 // kAttnKBias
    {"attn_v.bias", true},                 // kAttnVBias
    {"attn_q_norm.weight", true},          // kAttnQNorm
    {"attn_k_norm.weight", true},          // kAttnKNorm
    {"post_attention_norm.weight", true},  // kPostAttnNorm
    {"ffn_norm.weight", true},             // kFfnNorm
    {"ffn_gate.weight", true},             // kFfnGate
    {"ffn_up.weight", true},               // kFfnUp
    {"ffn_down.weight", true},             // kFfnDown
    {"post_ffw_norm.weight", true},        // kPostFfnNorm
};
static_assert(std::size(kTensorNames) ==
              static_cast<size_t>(TensorRole::kPostFfnNorm) + 1);

}  // namespace

absl::StatusOr<const ArchTraits*> FindArchTraits(std::string_view arch) {
  std::string known;
  for (const ArchTraits& traits : kArchitectures) {
    if (traits.name == arch) return &traits;
    known += StrCat(known.empty() ? "" : ", ", traits.name);
  }
  // The name comes from the file: keep it short in the message.
  return absl::InvalidArgumentError(StrCat("unsupported architecture '",
                                           arch.substr(0, 64),
                                           "' (supported: ", known, ")"));
}

std::string KeyName(std::string_view arch, ArchKey key) {
  return StrCat(arch, ".", kKeySuffixes[static_cast<size_t>(key)]);
}

std::string TensorName(TensorRole role, int layer) {
  const TensorNameRow& row = kTensorNames[static_cast<size_t>(role)];
  if (!row.per_layer) return std::string(row.name);
  return StrCat("blk.", layer, ".", row.name);
}

}  // namespace ggufd::model
