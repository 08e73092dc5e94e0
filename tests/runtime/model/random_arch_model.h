// Random-weight models of the architectures ggufd has rows for (qwen2, qwen3,
// llama, ...), written as GGUF files that llama.cpp can load: small F32 ones
// in the tests, so the forward pass of each row can be compared with the
// reference, and F16 ones of real models' shapes for the benchmarks
// (bench/make_shape_model).
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
  bool f16 = false;       // 2-D weights as F16; norms and biases stay F32
  uint64_t context_length = 512;
  // 0: the tokenizer's vocabulary size. Larger: the vocabulary is padded with
  // unused "[PAD<i>]" tokens, as convert_hf_to_gguf.py does for models whose
  // embedding has more rows than their tokenizer has tokens.
  uint64_t n_vocab = 0;
  // Standard deviation of token_embd and output. 0.3 spreads the small test
  // models' logits for greedy comparisons; at real widths with tied
  // embeddings it makes every token predict itself, so the benchmark shapes
  // take real models' 0.02.
  float vocab_stddev = 0.3f;
  uint64_t seed = 1;
};

// Writes the model to `path` (through `path`.tmp, renamed when complete):
// the hyperparameters under "{arch}.*", random weights (see the .cc for their
// scales) and the tokenizer.* keys copied from `tokenizer_source` (a GGUF
// whose vocabulary size becomes n_vocab unless spec.n_vocab is larger).
// Tensors are generated and written one at a time, so memory stays far below
// the file's size.
absl::Status WriteRandomArchModel(const RandomArchSpec& spec,
                                  const std::string& tokenizer_source,
                                  const std::string& path);

}  // namespace ggufd::model::testing

#endif  // GGUFD_TESTS_RUNTIME_MODEL_RANDOM_ARCH_MODEL_H_
