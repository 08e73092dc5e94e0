#include "tests/runtime/model/random_arch_model.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_value.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/tensor/fp16.h"

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

// llama.cpp's LLAMA_TOKEN_TYPE_UNUSED, the type of padding tokens.
constexpr int32_t kUnusedTokenType = 5;

// Copies the tokenizer.* keys, padding the per-token arrays to n_vocab.
void CopyTokenizer(const gguf::GgufFile& source, uint64_t n_vocab,
                   gguf::GgufWriter& w) {
  const uint64_t n_tokens = source.ArrayLength("tokenizer.ggml.tokens");
  auto element = [](const gguf::GgufValue& v, uint64_t i) {
    return v.raw + i * gguf::ScalarSize(v.element_type);
  };
  for (const auto& [key, value] : source.metadata()) {
    if (!key.starts_with("tokenizer.")) continue;
    if (n_vocab == n_tokens) {
      w.AddValue(key, value);
    } else if (key == "tokenizer.ggml.tokens") {
      std::vector<std::string> tokens(value.strings.begin(),
                                      value.strings.end());
      for (uint64_t i = n_tokens; i < n_vocab; ++i)
        tokens.push_back(StrCat("[PAD", i, "]"));
      w.AddStringArray(key, tokens);
    } else if (key == "tokenizer.ggml.token_type") {
      std::vector<int32_t> types(n_vocab, kUnusedTokenType);
      for (uint64_t i = 0; i < n_tokens; ++i)
        types[i] = static_cast<int32_t>(
            gguf::ReadAsInt(value.element_type, element(value, i)));
      w.AddInt32Array(key, types);
    } else if (key == "tokenizer.ggml.scores") {
      std::vector<float> scores(n_vocab, 0.0f);
      for (uint64_t i = 0; i < n_tokens; ++i)
        scores[i] = static_cast<float>(
            gguf::ReadAsDouble(value.element_type, element(value, i)));
      w.AddFloat32Array(key, scores);
    } else {
      w.AddValue(key, value);
    }
  }
}

// One tensor to generate: values are mean + uniform noise of `stddev`.
struct PlannedTensor {
  std::string name;
  std::vector<uint64_t> dims;
  float stddev;
  float mean;
};

// Generates the tensors in order from one Noise stream (so a model's values
// depend only on the spec) and streams them to `file` in chunks.
absl::Status WriteTensorData(const std::vector<PlannedTensor>& plan, bool f16,
                             uint64_t seed, uint32_t alignment,
                             std::FILE* file) {
  constexpr uint64_t kChunk = uint64_t{1} << 20;
  Noise noise(seed);
  std::vector<float> values;
  std::vector<uint16_t> halves;
  uint64_t written = 0;
  auto write = [&](const void* data, size_t n) -> absl::Status {
    if (n != 0 && std::fwrite(data, 1, n, file) != n) {
      return absl::DataLossError(StrCat("short write: ", std::strerror(errno)));
    }
    written += n;
    return absl::OkStatus();
  };
  for (const PlannedTensor& t : plan) {
    uint64_t n = 1;
    for (uint64_t d : t.dims) n *= d;
    const bool half = f16 && t.dims.size() == 2;
    for (uint64_t done = 0; done < n; done += kChunk) {
      values.resize(std::min(kChunk, n - done));
      for (float& v : values) v = t.mean + noise.Next(t.stddev);
      if (half) {
        halves.resize(values.size());
        std::transform(values.begin(), values.end(), halves.begin(),
                       tensor::Fp32ToFp16);
        RETURN_IF_ERROR(write(halves.data(), halves.size() * sizeof(uint16_t)));
      } else {
        RETURN_IF_ERROR(write(values.data(), values.size() * sizeof(float)));
      }
    }
    static constexpr uint8_t kZeros[256] = {};
    RETURN_IF_ERROR(
        write(kZeros, (alignment - written % alignment) % alignment));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteRandomArchModel(const RandomArchSpec& spec,
                                  const std::string& tokenizer_source,
                                  const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> source,
                   gguf::GgufFile::Open(tokenizer_source));
  const uint64_t n_tokens = source->ArrayLength("tokenizer.ggml.tokens");
  if (n_tokens == 0) {
    return absl::InvalidArgumentError(
        StrCat(tokenizer_source, " has no tokenizer.ggml.tokens"));
  }
  const uint64_t n_vocab = std::max(n_tokens, spec.n_vocab);

  gguf::GgufWriter w;
  const std::string& a = spec.arch;
  w.AddString("general.architecture", a);
  w.AddString("general.name", StrCat("random-", a));
  w.AddUint32("general.file_type", spec.f16 ? 1 : 0);  // MOSTLY_F16, ALL_F32
  w.AddUint32(StrCat(a, ".context_length"), spec.context_length);
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
  CopyTokenizer(*source, n_vocab, w);

  // Scales keep every activation O(1): matrices are 1/sqrt(fan-in), norm
  // weights 1 + 0.1 noise (so they matter), biases large as in Qwen2's q/k.
  const uint64_t q_dim = spec.n_head * spec.head_dim;
  const uint64_t kv_dim = spec.n_head_kv * spec.head_dim;
  std::vector<PlannedTensor> plan;
  auto add = [&](const std::string& name, std::vector<uint64_t> dims,
                 float stddev, float mean = 0) {
    plan.push_back({name, std::move(dims), stddev, mean});
  };
  auto fan_in = [](uint64_t n) { return 1.0f / std::sqrt(float(n)); };
  add("token_embd.weight", {spec.n_embd, n_vocab}, spec.vocab_stddev);
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
  if (!spec.tied)
    add("output.weight", {spec.n_embd, n_vocab}, spec.vocab_stddev);

  for (const PlannedTensor& t : plan) {
    const bool half = spec.f16 && t.dims.size() == 2;
    w.DeclareTensor(t.name,
                    half ? tensor::TensorType::kF16 : tensor::TensorType::kF32,
                    t.dims);
  }
  const std::string tmp = path + ".tmp";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (file == nullptr) {
    return absl::PermissionDeniedError(
        StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  const std::vector<uint8_t> header = w.SerializeHeader();
  absl::Status status =
      std::fwrite(header.data(), 1, header.size(), file.get()) == header.size()
          ? WriteTensorData(plan, spec.f16, spec.seed, w.alignment(),
                            file.get())
          : absl::DataLossError("short write of the header");
  if (std::fclose(file.release()) != 0 && status.ok()) {
    status = absl::DataLossError(StrCat("closing ", tmp, " failed"));
  }
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = absl::PermissionDeniedError(StrCat(
        "cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  if (!status.ok()) {
    std::remove(tmp.c_str());
    return absl::Status(status.code(), StrCat(path, ": ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace ggufd::model::testing
