// Test-only: small random-weight models of the architectures ggufd has rows
// for (qwen2, qwen3, ...), written as F32 GGUF files that llama.cpp can load,
// so the forward pass of each row can be compared with the reference.
#ifndef GGUFD_TESTS_RUNTIME_MODEL_RANDOM_ARCH_MODEL_H_
#define GGUFD_TESTS_RUNTIME_MODEL_RANDOM_ARCH_MODEL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace ggufd::model::testing {

struct RandomArchSpec {
  std::string arch;  // general.architecture
  uint64_t n_layer = 2;
  uint64_t n_embd = 256;
  uint64_t n_ff = 512;
  uint64_t n_head = 4;
  uint64_t n_head_kv = 2;
  uint64_t head_dim = 64;  // written as key/value_length when != n_embd/n_head
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-6f;
  bool qkv_bias = false;  // attn_{q,k,v}.bias
  bool qk_norm = false;   // attn_{q,k}_norm.weight
  bool tied = false;      // no output.weight
  uint64_t seed = 1;
};

// Writes the model to `path`: the hyperparameters under "{arch}.*", random
// weights (see the .cc for their scales) and the tokenizer.* keys copied from
// `tokenizer_source` (a GGUF whose vocabulary size becomes n_vocab).
absl::Status WriteRandomArchModel(const RandomArchSpec& spec,
                                  const std::string& tokenizer_source,
                                  const std::string& path);

}  // namespace ggufd::model::testing

#endif  // GGUFD_TESTS_RUNTIME_MODEL_RANDOM_ARCH_MODEL_H_
