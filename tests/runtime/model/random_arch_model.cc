#include "tests/runtime/model/random_arch_model.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"

namespace ggufd::model::testing {
namespace {

// A deterministic stream of uniform values with a given standard deviation
// (a 64-bit LCG; the statistics hardly matter, reproducibility does).
class Noise {
 public:
  explicit Noise(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  float Next(float stddev) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    const float u = static_cast<float>(state_ >> 40) / (1 << 24);
    return (2 * u - 1) * std::sqrt(3.0f) * stddev;
  }

 private:
  uint64_t state_;
};

}  // namespace

absl::Status WriteRandomArchModel(const RandomArchSpec& spec,
                                  const std::string& tokenizer_source,
                                  const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> source,
                   gguf::GgufFile::Open(tokenizer_source));
  const uint64_t n_vocab = source->ArrayLength("tokenizer.ggml.tokens");
  if (n_vocab == 0) {
    return absl::InvalidArgumentError(
        StrCat(tokenizer_source, " has no tokenizer.ggml.tokens"));
  }

  gguf::GgufWriter w;
  const std::string& a = spec.arch;
  w.AddString("general.architecture", a);
  w.AddString("general.name", StrCat("random-", a));
  w.AddUint32(StrCat(a, ".context_length"), 512);
  w.AddUint32(StrCat(a, ".embedding_length"), spec.n_embd);
  w.AddUint32(StrCat(a, ".block_count"), spec.n_layer);
  w.AddUint32(StrCat(a, ".feed_forward_length"), spec.n_ff);
  w.AddUint32(StrCat(a, ".attention.head_count"), spec.n_head);
  w.AddUint32(StrCat(a, ".attention.head_count_kv"), spec.n_head_kv);
  if (spec.head_dim * spec.n_head != spec.n_embd) {
    w.AddUint32(StrCat(a, ".attention.key_length"), spec.head_dim);
    w.AddUint32(StrCat(a, ".attention.value_length"), spec.head_dim);
  }
  w.AddFloat32(StrCat(a, ".rope.freq_base"), spec.rope_freq_base);
  w.AddFloat32(StrCat(a, ".attention.layer_norm_rms_epsilon"), spec.rms_eps);
  for (const auto& [key, value] : source->metadata()) {
    if (key.substr(0, 10) == "tokenizer.") w.AddValue(key, value);
  }

  // Scales keep every activation O(1): matrices are 1/sqrt(fan-in), norm
  // weights 1 + 0.1 noise (so they matter), biases large as in Qwen2's q/k.
  Noise noise(spec.seed);
  const uint64_t q_dim = spec.n_head * spec.head_dim;
  const uint64_t kv_dim = spec.n_head_kv * spec.head_dim;
  auto add = [&](const std::string& name, std::vector<uint64_t> dims,
                 float stddev, float mean = 0) {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    std::vector<float> values(n);
    for (float& v : values) v = mean + noise.Next(stddev);
    std::vector<uint8_t> bytes(n * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    w.AddTensor(name, tensor::TensorType::kF32, dims, bytes);
  };
  auto fan_in = [](uint64_t n) { return 1.0f / std::sqrt(float(n)); };
  add("token_embd.weight", {spec.n_embd, n_vocab}, 0.3f);
  for (uint64_t l = 0; l < spec.n_layer; ++l) {
    const std::string b = StrCat("blk.", l, ".");
    add(b + "attn_norm.weight", {spec.n_embd}, 0.1f, 1);
    add(b + "attn_q.weight", {spec.n_embd, q_dim}, fan_in(spec.n_embd));
    add(b + "attn_k.weight", {spec.n_embd, kv_dim}, fan_in(spec.n_embd));
    add(b + "attn_v.weight", {spec.n_embd, kv_dim}, fan_in(spec.n_embd));
    if (spec.qkv_bias) {
      add(b + "attn_q.bias", {q_dim}, 0.5f);
      add(b + "attn_k.bias", {kv_dim}, 0.5f);
      add(b + "attn_v.bias", {kv_dim}, 0.1f);
    }
    if (spec.qk_norm) {
      add(b + "attn_q_norm.weight", {spec.head_dim}, 0.2f, 1);
      add(b + "attn_k_norm.weight", {spec.head_dim}, 0.2f, 1);
    }
    add(b + "attn_output.weight", {q_dim, spec.n_embd}, fan_in(q_dim));
    add(b + "ffn_norm.weight", {spec.n_embd}, 0.1f, 1);
    add(b + "ffn_gate.weight", {spec.n_embd, spec.n_ff}, fan_in(spec.n_embd));
    add(b + "ffn_up.weight", {spec.n_embd, spec.n_ff}, fan_in(spec.n_embd));
    add(b + "ffn_down.weight", {spec.n_ff, spec.n_embd}, fan_in(spec.n_ff));
  }
  add("output_norm.weight", {spec.n_embd}, 0.1f, 1);
  if (!spec.tied) add("output.weight", {spec.n_embd, n_vocab}, 0.3f);
  return w.WriteFile(path);
}

}  // namespace ggufd::model::testing
