#include "tests/runtime/model/tiny_model.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/common/str_cat.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/tensor/fp16.h"

namespace ggufd::model::testing {
namespace {

// A deterministic stream of values in [-scale, scale].
class Noise {
 public:
  float Next(float scale) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    const float u = static_cast<float>(state_ >> 40) / (1 << 24);
    return (2 * u - 1) * scale;
  }

 private:
  uint64_t state_ = 12345;
};

std::vector<uint8_t> Encode(tensor::TensorType type,
                            const std::vector<float>& values) {
  std::vector<uint8_t> out;
  if (type == tensor::TensorType::kF16) {
    out.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t h = tensor::Fp32ToFp16(values[i]);
      std::memcpy(&out[2 * i], &h, 2);
    }
  } else {
    out.resize(values.size() * 4);
    std::memcpy(out.data(), values.data(), out.size());
  }
  return out;
}

}  // namespace

std::vector<uint8_t> BuildTinyModel(const TinySpec& spec) {
  gguf::GgufWriter w;
  const std::string& a = spec.arch;
  auto key_u32 = [&](const std::string& key, uint64_t v) {
    if (key != spec.omit_key) w.AddUint64(key, v);
  };
  if (spec.omit_key != "general.architecture") {
    w.AddString("general.architecture", a);
  }
  key_u32(StrCat(a, ".block_count"), spec.n_layer);
  key_u32(StrCat(a, ".context_length"), spec.n_ctx);
  key_u32(StrCat(a, ".embedding_length"), spec.n_embd);
  key_u32(StrCat(a, ".feed_forward_length"), spec.n_ff);
  key_u32(StrCat(a, ".attention.head_count"), spec.n_head);
  if (spec.n_head_kv) {
    key_u32(StrCat(a, ".attention.head_count_kv"), *spec.n_head_kv);
  }
  if (spec.rope_dims)
    key_u32(StrCat(a, ".rope.dimension_count"), *spec.rope_dims);
  if (spec.vocab_size_key)
    key_u32(StrCat(a, ".vocab_size"), *spec.vocab_size_key);
  w.AddFloat32(StrCat(a, ".attention.layer_norm_rms_epsilon"), spec.rms_eps);
  if (spec.rope_freq_base) {
    w.AddFloat32(StrCat(a, ".rope.freq_base"), *spec.rope_freq_base);
  }
  if (spec.tokenizer_tokens > 0) {
    std::vector<std::string> tokens;
    for (uint64_t i = 0; i < spec.tokenizer_tokens; ++i) {
      tokens.push_back(StrCat("t", i));
    }
    w.AddStringArray("tokenizer.ggml.tokens", tokens);
  }

  const uint64_t head_dim =
      std::max<uint64_t>(1, spec.n_head ? spec.n_embd / spec.n_head : 1);
  const uint64_t kv_dim = spec.n_head_kv.value_or(spec.n_head) * head_dim;
  Noise noise;
  auto add = [&](const std::string& name, std::vector<uint64_t> dims,
                 bool matrix) {
    if (name == spec.omit_tensor) return;
    if (name == spec.reshape_tensor) dims = spec.reshape_dims;
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    std::vector<float> values(n);
    for (float& v : values)
      v = matrix ? noise.Next(0.5f) : 1 + noise.Next(0.1f);
    const tensor::TensorType type =
        matrix ? spec.matrix_type : tensor::TensorType::kF32;
    w.AddTensor(name, type, dims, Encode(type, values));
  };
  add("token_embd.weight", {spec.n_embd, spec.n_vocab}, true);
  for (uint64_t l = 0; l < spec.n_layer; ++l) {
    const std::string b = StrCat("blk.", l, ".");
    add(b + "attn_norm.weight", {spec.n_embd}, false);
    add(b + "attn_q.weight", {spec.n_embd, spec.n_embd}, true);
    add(b + "attn_k.weight", {spec.n_embd, kv_dim}, true);
    add(b + "attn_v.weight", {spec.n_embd, kv_dim}, true);
    add(b + "attn_output.weight", {spec.n_embd, spec.n_embd}, true);
    add(b + "ffn_norm.weight", {spec.n_embd}, false);
    add(b + "ffn_gate.weight", {spec.n_embd, spec.n_ff}, true);
    add(b + "ffn_up.weight", {spec.n_embd, spec.n_ff}, true);
    add(b + "ffn_down.weight", {spec.n_ff, spec.n_embd}, true);
  }
  add("output_norm.weight", {spec.n_embd}, false);
  if (spec.with_output) add("output.weight", {spec.n_embd, spec.n_vocab}, true);
  return w.Serialize();
}

}  // namespace ggufd::model::testing
