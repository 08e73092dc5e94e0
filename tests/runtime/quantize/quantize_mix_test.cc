// The tensor type mix against tables worked out by hand from llama.cpp's
// llama_tensor_get_type (src/llama-quant.cpp).
#include "runtime/quantize/quantize_mix.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace ggufd::quantize {
namespace {

using tensor::TensorType;

// A llama-style model: embeddings, output (unless tied), and per block the
// seven matrices and two norms, all F32 with rows of `ne0` values.
std::vector<std::string> LlamaNames(int n_layer, bool tied) {
  std::vector<std::string> names = {"token_embd.weight", "output_norm.weight"};
  if (!tied) names.push_back("output.weight");
  for (int i = 0; i < n_layer; ++i) {
    for (const char* t :
         {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
          "ffn_gate", "ffn_up", "ffn_down"}) {
      names.push_back(absl::StrFormat("blk.%d.%s.weight", i, t));
    }
  }
  return names;
}

std::map<std::string, TensorType> Plan(FileType ftype, bool pure,
                                       const ModelShape& shape,
                                       const std::vector<std::string>& names,
                                       uint64_t ne0 = 4096) {
  std::vector<TensorDesc> descs;
  for (const std::string& n : names) {
    const bool norm = n.find("_norm") != std::string::npos;
    descs.push_back({.name = n,
                     .n_dims = norm ? 1u : 2u,
                     .ne0 = ne0,
                     .type = TensorType::kF32});
  }
  const auto plans = PlanTensorTypes(ftype, pure, shape, descs);
  std::map<std::string, TensorType> out;
  for (size_t i = 0; i < names.size(); ++i) out[names[i]] = plans[i].type;
  return out;
}

ModelShape Llama(int n_layer, int n_head = 32, int n_head_kv = 32) {
  return {.arch = "llama",
          .n_layer = n_layer,
          .n_head = n_head,
          .n_head_kv = n_head_kv};
}

std::string Blk(int i, const char* t) {
  return absl::StrFormat("blk.%d.%s.weight", i, t);
}

TEST(QuantizeMixTest, Q4KMOn32LayersUsesQ6KWhereUseMoreBitsHolds) {
  // use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2.
  const std::set<int> more = {0,  1,  2,  3,  6,  9,  12, 15,
                              18, 21, 24, 27, 28, 29, 30, 31};
  const auto plan =
      Plan(FileType::kQ4_K_M, false, Llama(32), LlamaNames(32, false));
  EXPECT_EQ(plan.at("token_embd.weight"), TensorType::kQ4_K);
  EXPECT_EQ(plan.at("output.weight"), TensorType::kQ6_K);
  EXPECT_EQ(plan.at("output_norm.weight"), TensorType::kF32);
  for (int i = 0; i < 32; ++i) {
    const TensorType expect =
        more.count(i) ? TensorType::kQ6_K : TensorType::kQ4_K;
    EXPECT_EQ(plan.at(Blk(i, "attn_v")), expect) << i;
    EXPECT_EQ(plan.at(Blk(i, "ffn_down")), expect) << i;
    for (const char* t :
         {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"}) {
      EXPECT_EQ(plan.at(Blk(i, t)), TensorType::kQ4_K) << Blk(i, t);
    }
    EXPECT_EQ(plan.at(Blk(i, "attn_norm")), TensorType::kF32);
  }
}

TEST(QuantizeMixTest, Q5KMBumpsTheSameLayers) {
  const auto plan =
      Plan(FileType::kQ5_K_M, false, Llama(8), LlamaNames(8, false));
  // use_more_bits(i, 8): i < 1, i >= 7, or (i - 1) % 3 == 2 -> 0, 3, 6, 7.
  for (int i = 0; i < 8; ++i) {
    const bool more = i == 0 || i == 3 || i == 6 || i == 7;
    EXPECT_EQ(plan.at(Blk(i, "attn_v")),
              more ? TensorType::kQ6_K : TensorType::kQ5_K)
        << i;
    EXPECT_EQ(plan.at(Blk(i, "ffn_down")),
              more ? TensorType::kQ6_K : TensorType::kQ5_K)
        << i;
  }
  EXPECT_EQ(plan.at("output.weight"), TensorType::kQ6_K);
}

TEST(QuantizeMixTest, TiedEmbeddingsGetTheOutputRule) {
  const auto plan =
      Plan(FileType::kQ4_K_M, false, Llama(4), LlamaNames(4, true));
  EXPECT_EQ(plan.at("token_embd.weight"), TensorType::kQ6_K);
}

TEST(QuantizeMixTest, OutputStaysQ8_0ForQ8_0AndIsQ6KForQ4_0) {
  EXPECT_EQ(Plan(FileType::kQ8_0, false, Llama(4), LlamaNames(4, false))
                .at("output.weight"),
            TensorType::kQ8_0);
  const auto q4 = Plan(FileType::kQ4_0, false, Llama(4), LlamaNames(4, false));
  EXPECT_EQ(q4.at("output.weight"), TensorType::kQ6_K);
  EXPECT_EQ(q4.at("token_embd.weight"), TensorType::kQ4_0);
  EXPECT_EQ(q4.at(Blk(0, "attn_v")), TensorType::kQ4_0);
}

TEST(QuantizeMixTest, OutputRowsThatAreNotSuperBlocksGetQ8_0) {
  const auto plan = Plan(FileType::kQ4_K_M, false, Llama(2),
                         LlamaNames(2, false), /*ne0=*/96);
  EXPECT_EQ(plan.at("output.weight"), TensorType::kQ8_0);
  // Other Q4_K tensors fall back to Q5_0, Q6_K ones to Q8_0.
  EXPECT_EQ(plan.at(Blk(0, "attn_q")), TensorType::kQ5_0);
  EXPECT_EQ(plan.at(Blk(1, "attn_v")), TensorType::kQ8_0);
}

TEST(QuantizeMixTest, Q2KAndQ3KMRules) {
  const auto q2 = Plan(FileType::kQ2_K, false, Llama(4), LlamaNames(4, false));
  EXPECT_EQ(q2.at(Blk(0, "attn_v")), TensorType::kQ3_K);  // n_gqa 1
  EXPECT_EQ(q2.at(Blk(0, "ffn_down")), TensorType::kQ3_K);
  EXPECT_EQ(q2.at(Blk(0, "attn_output")), TensorType::kQ3_K);
  EXPECT_EQ(q2.at(Blk(0, "attn_q")), TensorType::kQ2_K);
  const auto q2_gqa =
      Plan(FileType::kQ2_K, false, Llama(4, 32, 8), LlamaNames(4, false));
  EXPECT_EQ(q2_gqa.at(Blk(0, "attn_v")), TensorType::kQ4_K);

  const auto q3 =
      Plan(FileType::kQ3_K_M, false, Llama(32), LlamaNames(32, false));
  EXPECT_EQ(q3.at(Blk(0, "attn_v")), TensorType::kQ5_K);
  EXPECT_EQ(q3.at(Blk(1, "attn_v")), TensorType::kQ5_K);
  EXPECT_EQ(q3.at(Blk(2, "attn_v")), TensorType::kQ4_K);
  EXPECT_EQ(q3.at(Blk(1, "ffn_down")), TensorType::kQ5_K);  // i < 32/16
  EXPECT_EQ(q3.at(Blk(2, "ffn_down")), TensorType::kQ4_K);
  EXPECT_EQ(q3.at(Blk(5, "attn_output")), TensorType::kQ4_K);
  EXPECT_EQ(q3.at(Blk(5, "attn_q")), TensorType::kQ3_K);
}

TEST(QuantizeMixTest, PureKeepsEveryMatrixInTheDefaultType) {
  const auto plan =
      Plan(FileType::kQ4_K_M, true, Llama(8), LlamaNames(8, false));
  for (const auto& [name, type] : plan) {
    if (name.find("_norm") != std::string::npos) {
      EXPECT_EQ(type, TensorType::kF32) << name;
    } else {
      EXPECT_EQ(type, TensorType::kQ4_K) << name;
    }
  }
}

TEST(QuantizeMixTest, FileOrderDoesNotChangeThePlan) {
  std::vector<std::string> names = LlamaNames(12, false);
  const auto sorted = Plan(FileType::kQ4_K_M, false, Llama(12), names);
  std::mt19937 rng(7);
  std::shuffle(names.begin(), names.end(), rng);
  EXPECT_EQ(Plan(FileType::kQ4_K_M, false, Llama(12), names), sorted);
}

TEST(QuantizeMixTest, FallbacksForRowLengths) {
  const auto plan = [](FileType f, uint64_t ne0) {
    return Plan(f, true, Llama(1), {"blk.0.attn_q.weight"}, ne0)
        .at("blk.0.attn_q.weight");
  };
  EXPECT_EQ(plan(FileType::kQ4_K_M, 64), TensorType::kQ5_0);
  EXPECT_EQ(plan(FileType::kQ5_K_M, 64), TensorType::kQ5_1);
  EXPECT_EQ(plan(FileType::kQ6_K, 64), TensorType::kQ8_0);
  EXPECT_EQ(plan(FileType::kQ2_K, 64), TensorType::kQ4_0);
  EXPECT_EQ(plan(FileType::kQ3_K_M, 96), TensorType::kQ4_0);
  EXPECT_EQ(plan(FileType::kIQ4_XS, 64), TensorType::kIQ4_NL);
  EXPECT_EQ(plan(FileType::kQ4_K_M, 172), TensorType::kF16);
  EXPECT_EQ(plan(FileType::kQ8_0, 172), TensorType::kF16);
  EXPECT_EQ(plan(FileType::kF16, 172), TensorType::kF16);
  EXPECT_EQ(plan(FileType::kQ8_0, 96), TensorType::kQ8_0);
}

TEST(QuantizeMixTest, ParsesLlamaQuantizeNames) {
  EXPECT_EQ(ParseFileType("q4_k_m"), FileType::kQ4_K_M);
  EXPECT_EQ(ParseFileType("Q4_K"), FileType::kQ4_K_M);
  EXPECT_EQ(ParseFileType("Q5_K"), FileType::kQ5_K_M);
  EXPECT_EQ(ParseFileType("IQ4_XS"), FileType::kIQ4_XS);
  EXPECT_EQ(ParseFileType("bf16"), FileType::kBF16);
  EXPECT_EQ(ParseFileType("Q4_K_X"), std::nullopt);
  EXPECT_EQ(ParseFileType("IQ2_XXS"), std::nullopt);
  EXPECT_EQ(ParseFileType(""), std::nullopt);
}

}  // namespace
}  // namespace ggufd::quantize
