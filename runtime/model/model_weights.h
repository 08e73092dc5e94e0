// The weights of a model as views into the mmapped GGUF file (llama2.c's
// TransformerWeights). Matrices stay in the file in their stored type; the
// small norm and bias vectors are copied out as floats at load. Every tensor's
// presence, type and exact shape is checked before a view is made.
//
// Shapes below are [rows x cols] as MatMul sees them: a GGUF tensor with
// ne = [ne0, ne1] has ne1 rows of ne0 contiguous values. q_dim is
// n_head * head_dim, kv_dim is n_kv_head * head_dim.
#ifndef GGUFD_RUNTIME_MODEL_MODEL_WEIGHTS_H_
#define GGUFD_RUNTIME_MODEL_MODEL_WEIGHTS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/model/model_config.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/matmul.h"

namespace ggufd::model {

struct LayerWeights {
  std::vector<float> attn_norm;       // [n_embd]
  tensor::WeightView wq;              // [q_dim x n_embd]
  tensor::WeightView wk;              // [kv_dim x n_embd]
  tensor::WeightView wv;              // [kv_dim x n_embd]
  tensor::WeightView wo;              // [n_embd x q_dim]
  std::vector<float> bq;              // [q_dim]; qkv_bias only
  std::vector<float> bk;              // [kv_dim]; qkv_bias only
  std::vector<float> bv;              // [kv_dim]; qkv_bias only
  std::vector<float> q_norm;          // [head_dim]; qk_norm only
  std::vector<float> k_norm;          // [head_dim]; qk_norm only
  std::vector<float> post_attn_norm;  // [n_embd]; post_norms only
  std::vector<float> ffn_norm;        // [n_embd]
  tensor::WeightView w_gate;          // [n_ff x n_embd]
  tensor::WeightView w_up;            // [n_ff x n_embd]
  tensor::WeightView w_down;          // [n_embd x n_ff]
  std::vector<float> post_ffn_norm;   // [n_embd]; post_norms only
};

struct ModelWeights {
  tensor::WeightView token_embd;     // [n_vocab x n_embd]
  std::vector<LayerWeights> layers;  // [n_layer]
  std::vector<float> output_norm;    // [n_embd]
  tensor::WeightView output;         // [n_vocab x n_embd]; token_embd if tied
  bool tied_output = false;          // output.weight was absent
  std::vector<float> rope_freqs;     // [n_rot / 2] divisors of the RoPE
                                     // angles (Llama 3.1); empty when absent
  // The decode panels the matrices' views point at (tensor/decode_panels.h);
  // shared, so copies of the weights (runtimes sharing a model) view the
  // same panels.
  std::shared_ptr<std::vector<tensor::AlignedBytes>> decode_panels =
      std::make_shared<std::vector<tensor::AlignedBytes>>();
};

// Builds views of every tensor `config` calls for; a missing tensor, a type
// MatMul has no kernel for, or a shape other than the config implies is
// InvalidArgument naming the tensor. The views borrow `file`.
absl::StatusOr<ModelWeights> LoadModelWeights(const gguf::GgufFile& file,
                                              const ModelConfig& config);

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_MODEL_WEIGHTS_H_
