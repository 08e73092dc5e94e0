// The hyperparameters of a model, read from a GGUF file and validated before
// anything is sized by them (llama2.c's Config), plus the context length this
// instance runs with, resolved against a memory limit.
#ifndef GGUFD_RUNTIME_MODEL_MODEL_CONFIG_H_
#define GGUFD_RUNTIME_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/model/arch_traits.h"

namespace ggufd::model {

// Element type of the KV cache. F16 is llama.cpp's default (and what keeps
// our logits closest to it); F32 matches references computed in F32.
enum class KvType { kF16, kF32 };

inline size_t KvTypeBytes(KvType type) { return type == KvType::kF16 ? 2 : 4; }

struct ConfigOptions {
  // Context length to run with; 0 means the model's context_length, capped so
  // the KV cache fits in max_kv_bytes. An explicit value that does not fit,
  // or exceeds context_length, is refused.
  int64_t n_ctx = 0;
  KvType kv_type = KvType::kF16;
  uint64_t max_kv_bytes = uint64_t{4} << 30;
};

struct ModelConfig {
  const ArchTraits* traits = nullptr;
  std::string arch;
  int n_layer = 0;
  int n_embd = 0;
  int n_ff = 0;
  int n_head = 0;
  int n_kv_head = 0;
  int head_dim = 0;  // key_length == value_length
  int n_rot = 0;     // RoPE dimensions per head, <= head_dim, even
  int n_vocab = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 0;
  float rope_freq_base = 0;
  float logit_softcap = 0;       // 0: none
  int sliding_window = 0;        // 0: none
  int swa_period = 0;            // see ArchTraits::swa_period
  float rope_freq_base_swa = 0;  // RoPE base of sliding-window layers
  // Multiplies q.k (or q itself: ArchTraits::query_prescale).
  float attention_scale = 0;
  // Resolved for this instance.
  int64_t n_ctx = 0;
  KvType kv_type = KvType::kF16;

  // Whether layer il attends only within the last sliding_window positions.
  bool is_swa_layer(int il) const {
    return sliding_window > 0 &&
           (swa_period == 0 || il % swa_period != swa_period - 1);
  }
  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_kv_head * head_dim; }
  // Bytes of K plus V for one position across all layers.
  uint64_t kv_bytes_per_position() const {
    return uint64_t{2} * n_layer * kv_dim() * KvTypeBytes(kv_type);
  }
};

// Reads and checks every hyperparameter; a missing, mistyped or implausible
// value is InvalidArgument naming the key.
absl::StatusOr<ModelConfig> LoadModelConfig(const gguf::GgufFile& file,
                                            const ConfigOptions& options);

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_MODEL_CONFIG_H_
