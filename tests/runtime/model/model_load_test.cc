// Loading models: a well-formed tiny model loads and runs; every hostile
// variant is refused at load with an error that names the problem.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "runtime/model/run_state.h"
#include "runtime/tensor/thread_pool.h"
#include "tests/runtime/model/tiny_model.h"

namespace ggufd::model {
namespace {

using testing::BuildTinyModel;
using ::testing::HasSubstr;
using testing::TinySpec;

// Loads a model from `spec`; `bytes` keeps the image alive for the model.
absl::StatusOr<std::unique_ptr<Model>> Load(const TinySpec& spec,
                                            std::vector<uint8_t>& bytes,
                                            const ConfigOptions& options = {}) {
  bytes = BuildTinyModel(spec);
  auto file = gguf::GgufFile::Parse(bytes);
  if (!file.ok()) return file.status();
  return LoadModel(std::move(*file), options);
}

// Expects the load of `spec` to fail with InvalidArgument mentioning `what`.
void ExpectRefused(const TinySpec& spec, const std::string& what,
                   const ConfigOptions& options = {}) {
  std::vector<uint8_t> bytes;
  auto model = Load(spec, bytes, options);
  ASSERT_FALSE(model.ok()) << "loaded although it should mention " << what;
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr(what));
}

TEST(ModelLoadTest, TinyModelLoadsAndRuns) {
  std::vector<uint8_t> bytes;
  auto model = Load(TinySpec{}, bytes);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelConfig& c = (*model)->config;
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_embd, 32);
  EXPECT_EQ(c.n_head, 4);
  EXPECT_EQ(c.n_kv_head, 2);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.n_rot, 8);
  EXPECT_EQ(c.n_vocab, 40);
  EXPECT_EQ(c.n_ctx, 64);
  EXPECT_FALSE((*model)->weights.tied_output);

  auto state = RunState::Create(**model, {.max_batch = 4});
  ASSERT_TRUE(state.ok()) << state.status();
  tensor::ThreadPool pool(1);
  const std::vector<int32_t> tokens = {1, 5, 7, 9, 11, 3};
  ASSERT_TRUE(Forward(**model, **state, pool, tokens, 0).ok());
  EXPECT_EQ((*state)->kv.size(), 6);
  EXPECT_EQ((*state)->n_logit_rows, 1);
  EXPECT_GT((*state)->bytes(), (*state)->kv.bytes());
}

TEST(ModelLoadTest, MissingOutputFallsBackToTiedEmbeddings) {
  std::vector<uint8_t> bytes;
  auto model = Load(TinySpec{.with_output = false}, bytes);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->weights.tied_output);
  EXPECT_EQ((*model)->weights.output.data, (*model)->weights.token_embd.data);
  // llama.cpp never repacks its token embedding: vec_dot order for it.
  EXPECT_FALSE((*model)->weights.output.repackable);
  EXPECT_TRUE((*model)->weights.layers[0].wq.repackable);
}

TEST(ModelLoadTest, F16MatricesLoad) {
  std::vector<uint8_t> bytes;
  auto model = Load(TinySpec{.matrix_type = tensor::TensorType::kF16}, bytes);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->weights.layers[0].wq.type, tensor::TensorType::kF16);
}

TEST(ModelLoadTest, RefusesUnsupportedArchitecture) {
  ExpectRefused({.arch = "gpt2"}, "unsupported architecture 'gpt2'");
}

TEST(ModelLoadTest, RefusesMissingArchitecture) {
  ExpectRefused({.omit_key = "general.architecture"}, "general.architecture");
}

TEST(ModelLoadTest, RefusesZeroHeads) {
  ExpectRefused({.n_head = 0}, "llama.attention.head_count");
}

TEST(ModelLoadTest, RefusesZeroLayers) {
  ExpectRefused({.n_layer = 0}, "llama.block_count");
}

TEST(ModelLoadTest, RefusesMissingEmbeddingLength) {
  ExpectRefused({.omit_key = "llama.embedding_length"},
                "missing key llama.embedding_length");
}

TEST(ModelLoadTest, RefusesHeadCountNotDividingEmbedding) {
  ExpectRefused({.n_head = 5, .n_head_kv = 5},
                "llama.attention.head_count = 5 does not divide "
                "llama.embedding_length = 32");
}

TEST(ModelLoadTest, RefusesKvHeadsNotDividingHeads) {
  ExpectRefused({.n_head_kv = 3}, "llama.attention.head_count_kv = 3");
}

TEST(ModelLoadTest, RefusesAbsurdHeadCount) {
  ExpectRefused({.n_head = uint64_t{1} << 40}, "llama.attention.head_count");
}

TEST(ModelLoadTest, RefusesAbsurdContext) {
  ExpectRefused({.n_ctx = uint64_t{1} << 40}, "llama.context_length");
}

TEST(ModelLoadTest, RefusesZeroContext) {
  ExpectRefused({.n_ctx = 0}, "llama.context_length");
}

// Regression (issue 10): RMSNorm divides by sqrt(mean(x^2) + eps), so eps
// must be positive (0 made an all-zero row 0/0); NaN and infinities were
// already refused and stay so.
TEST(ModelLoadTest, RefusesRmsEpsilonOutsideItsDomain) {
  const std::string key = "llama.attention.layer_norm_rms_epsilon";
  ExpectRefused({.rms_eps = 0.0f}, key + " = 0 is out of range (0, 1]");
  ExpectRefused({.rms_eps = -1e-5f}, key + " = -1");
  ExpectRefused({.rms_eps = std::numeric_limits<float>::quiet_NaN()},
                key + " = nan");
  ExpectRefused({.rms_eps = std::numeric_limits<float>::infinity()},
                key + " = inf");
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(Load({.rms_eps = 1e-12f}, bytes).ok());
}

TEST(ModelLoadTest, RefusesNonFiniteRopeBase) {
  const std::string key = "llama.rope.freq_base";
  ExpectRefused({.rope_freq_base = std::numeric_limits<float>::quiet_NaN()},
                key + " = nan");
  ExpectRefused({.rope_freq_base = -std::numeric_limits<float>::infinity()},
                key + " = -inf");
  ExpectRefused({.rope_freq_base = 0.0f}, key + " = 0");
}

TEST(ModelLoadTest, CapsDefaultContextByMemoryLimit) {
  // 2 layers * 2 (K, V) * kv_dim 16 * 2 bytes = 128 bytes per position.
  std::vector<uint8_t> bytes;
  auto model = Load({.n_ctx = 1 << 20}, bytes, {.max_kv_bytes = 128 * 100});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->config.n_ctx, 100);
}

TEST(ModelLoadTest, RefusesExplicitContextOverMemoryLimit) {
  ExpectRefused({.n_ctx = 1 << 20}, "over the limit",
                {.n_ctx = 1000, .max_kv_bytes = 128 * 100});
}

TEST(ModelLoadTest, RefusesContextBeyondTrainedLength) {
  ExpectRefused({}, "exceeds llama.context_length", {.n_ctx = 65});
}

TEST(ModelLoadTest, RefusesRopeDimsBeyondHeadDim) {
  ExpectRefused({.rope_dims = 16}, "llama.rope.dimension_count = 16");
}

TEST(ModelLoadTest, RefusesVocabSizeKeyMismatch) {
  ExpectRefused({.vocab_size_key = 41}, "vocabulary size mismatch");
}

TEST(ModelLoadTest, RefusesTokenizerCountMismatch) {
  ExpectRefused({.tokenizer_tokens = 39}, "vocabulary size mismatch");
}

TEST(ModelLoadTest, RefusesMissingTensor) {
  ExpectRefused({.omit_tensor = "blk.1.ffn_down.weight"},
                "missing tensor blk.1.ffn_down.weight");
}

TEST(ModelLoadTest, RefusesMissingTokenEmbedding) {
  ExpectRefused({.omit_tensor = "token_embd.weight"},
                "missing tensor token_embd.weight");
}

TEST(ModelLoadTest, RefusesWrongShape) {
  ExpectRefused(
      {.reshape_tensor = "blk.0.attn_k.weight", .reshape_dims = {32, 32}},
      "tensor blk.0.attn_k.weight has shape [32, 32], expected "
      "[32, 16]");
}

TEST(ModelLoadTest, RefusesWrongNormLength) {
  ExpectRefused({.reshape_tensor = "output_norm.weight", .reshape_dims = {31}},
                "tensor output_norm.weight has shape [31]");
}

TEST(ModelLoadTest, RefusesUnsupportedMatrixType) {
  // I32 is a valid GGUF type with no matrix kernel.
  ExpectRefused({.matrix_type = tensor::TensorType::kI32},
                "has type i32, which ggufd cannot multiply");
}

}  // namespace
}  // namespace ggufd::model
