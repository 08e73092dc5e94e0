// Test-only: small llama GGUF images written in memory, with knobs to make
// them hostile (a wrong key, a missing or misshapen tensor).
#ifndef GGUFD_TESTS_RUNTIME_MODEL_TINY_MODEL_H_
#define GGUFD_TESTS_RUNTIME_MODEL_TINY_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/tensor/tensor_type.h"

namespace ggufd::model::testing {

struct TinySpec {
  std::string arch = "llama";
  uint64_t n_layer = 2;
  uint64_t n_embd = 32;
  uint64_t n_ff = 64;
  uint64_t n_head = 4;
  std::optional<uint64_t> n_head_kv = 2;  // nullopt: key absent
  uint64_t n_ctx = 64;
  uint64_t n_vocab = 40;
  uint64_t tokenizer_tokens = 40;  // 0: no tokenizer.ggml.tokens
  std::optional<uint64_t> rope_dims;
  std::optional<uint64_t> vocab_size_key;
  bool with_output = true;  // false: tied to token_embd
  tensor::TensorType matrix_type = tensor::TensorType::kF32;
  std::string omit_tensor;     // leave this tensor out
  std::string omit_key;        // leave this key out
  std::string reshape_tensor;  // give this tensor `reshape_dims` instead
  std::vector<uint64_t> reshape_dims;
  float rms_eps = 1e-5f;                // any value, hostile ones included
  std::optional<float> rope_freq_base;  // nullopt: key absent
};

// The GGUF bytes of a model built from `spec` with small pseudo-random
// weights (deterministic).
std::vector<uint8_t> BuildTinyModel(const TinySpec& spec);

}  // namespace ggufd::model::testing

#endif  // GGUFD_TESTS_RUNTIME_MODEL_TINY_MODEL_H_
