// Which tensor type each tensor of a model gets when the model is quantized
// to a file type: llama.cpp's rule (src/llama-quant.cpp, llama_tensor_get_type
// and tensor_type_fallback, as of 2025-2026 master) for the file types ggufd
// writes.
//
//  * Only tensors with 2+ dimensions whose name ends in "weight" are
//    quantized, never norms, MoE routers, position/token-type embeddings and
//    a few small architecture-specific tensors; the rest keep their type.
//  * F32/F16/BF16 file types convert every quantizable tensor, no mix.
//  * Unless `pure`, the mix: output.weight (and token_embd.weight when the
//    embeddings are tied, i.e. there is no output.weight) gets Q6_K (Q8_0
//    for falcon or when its rows are not whole blocks; unchanged for Q8_0).
//    attn_v (and attn_qkv, attn_kv_b) and ffn_down get more bits in some
//    layers: for Q4_K_M/Q5_K_M, Q6_K in the layers where use_more_bits(i, n)
//    holds (the first n/8, the last n/8, and every third in between);
//    Q2_K, Q3_K_S/M/L, Q4_K_S and IQ4_NL/IQ4_XS have their own rules (in
//    quantize_mix.cc, one branch per llama.cpp branch).
//  * Every quantized type whose block does not divide the row length falls
//    back: Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
//    IQ4_XS -> IQ4_NL, and to F16 if that still does not divide (llama.cpp
//    refuses the 32-wide types outright there; ggufd uses F16 too).
#ifndef GGUFD_RUNTIME_QUANTIZE_QUANTIZE_MIX_H_
#define GGUFD_RUNTIME_QUANTIZE_QUANTIZE_MIX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "runtime/quantize/file_type.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd::quantize {

// What the mix rules read from the model's metadata.
struct ModelShape {
  std::string arch;   // general.architecture
  int n_layer = 0;    // {arch}.block_count
  int n_head = 0;     // {arch}.attention.head_count (layer 0)
  int n_head_kv = 0;  // {arch}.attention.head_count_kv (layer 0)
  int n_expert = 0;   // {arch}.expert_count
  // llama.cpp's LLM_TYPE_70B: a llama with 80 layers and grouped KV heads.
  bool is_70b = false;

  int n_gqa() const { return n_head_kv > 0 ? n_head / n_head_kv : 1; }
};

struct TensorDesc {
  std::string_view name;
  uint32_t n_dims = 0;
  uint64_t ne0 = 0;  // row length
  tensor::TensorType type = tensor::TensorType::kF32;
};

struct TensorPlan {
  tensor::TensorType type = tensor::TensorType::kF32;
  bool quantize = false;  // false: the bytes are copied unchanged
  bool fallback = false;  // the mix's type did not fit the row length
};

// The plan for every tensor, indexed like `tensors`. Layer counters advance
// in llama.cpp's order (by block number, then name), whatever the file order.
std::vector<TensorPlan> PlanTensorTypes(FileType ftype, bool pure,
                                        const ModelShape& shape,
                                        absl::Span<const TensorDesc> tensors);

}  // namespace ggufd::quantize

#endif  // GGUFD_RUNTIME_QUANTIZE_QUANTIZE_MIX_H_
