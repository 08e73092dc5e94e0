// The whole chain: order, greedy, penalties and bias through the Sampler,
// determinism of the seeded draws, empirical frequencies, logprobs and
// error paths.
#include "runtime/sampling/sampler.h"

#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/sampling/sampling_steps.h"

namespace ggufd::sampling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Plain sampling from softmax(logits): every truncation off, temperature 1.
SamplingParams Plain(uint64_t seed) {
  return SamplingParams{.temperature = 1.0f,
                        .top_k = 0,
                        .top_p = 1.0f,
                        .min_p = 0.0f,
                        .seed = seed};
}

Sampler MustCreate(const SamplingParams& params, int32_t vocab_size) {
  absl::StatusOr<Sampler> sampler = Sampler::Create(params, vocab_size);
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  return std::move(sampler).value();
}

TokenId MustSample(Sampler& sampler, const std::vector<float>& logits) {
  absl::StatusOr<TokenId> token = sampler.Sample(logits);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or(-1);
}

TEST(SamplerTest, DefaultChainFollowsLlamaCppOrder) {
  SamplingParams params{.typical_p = 0.9f,
                        .repeat_penalty = 1.1f,
                        .seed = 1,
                        .logit_bias = {{1, 1.0f}}};
  Sampler sampler = MustCreate(params, 8);
  EXPECT_THAT(sampler.StepNames(),
              ElementsAre("logit-bias", "penalties", "top-k", "typical",
                          "top-p", "min-p", "temperature", "dist"));
}

TEST(SamplerTest, StepsThatDoNothingAreLeftOut) {
  Sampler plain = MustCreate(Plain(1), 8);
  EXPECT_THAT(plain.StepNames(), ElementsAre("dist"));
  Sampler greedy = MustCreate(SamplingParams{.temperature = 0.0f}, 8);
  EXPECT_THAT(greedy.StepNames(),
              ElementsAre("top-k", "top-p", "min-p", "greedy"));
}

// Greedy with the default top-k/top-p/min-p and bans takes the argmax
// without the chain; the pick must be the chain's: ties to the lower id, a
// banned argmax gives way to the best allowed token, all banned fails.
TEST(SamplerTest, GreedyArgmaxEqualsTheChainsPick) {
  const std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f, 2.5f};
  Sampler greedy = MustCreate(SamplingParams{.temperature = 0.0f}, 6);
  EXPECT_EQ(MustSample(greedy, logits), 1);  // ties: the lower id
  const float ban = -std::numeric_limits<float>::infinity();
  Sampler banned = MustCreate(
      SamplingParams{
          .temperature = 0.0f,
          .logit_bias = {{.token = 1, .bias = ban}, {.token = 3, .bias = ban}}},
      6);
  EXPECT_EQ(MustSample(banned, logits), 5);
  SamplingParams all{.temperature = 0.0f};
  for (TokenId t = 0; t < 6; ++t) all.logit_bias.push_back({t, ban});
  Sampler none = MustCreate(all, 6);
  EXPECT_FALSE(none.Sample(logits, nullptr).ok());
  const std::vector<float> dead(6, ban);
  Sampler plain_greedy = MustCreate(SamplingParams{.temperature = 0.0f}, 6);
  EXPECT_FALSE(plain_greedy.Sample(dead, nullptr).ok());
}

TEST(SamplerTest, TemperatureZeroIsGreedy) {
  Sampler sampler = MustCreate(SamplingParams{.temperature = 0.0f}, 5);
  const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f, 0.0f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(MustSample(sampler, logits), 1);
}

TEST(SamplerTest, BiasBansTheBestToken) {
  SamplingParams params{.temperature = 0.0f, .logit_bias = {{1, -kInf}}};
  Sampler sampler = MustCreate(params, 5);
  EXPECT_EQ(MustSample(sampler, {0.1f, 2.5f, -1.0f, 2.4f, 0.0f}), 3);
}

TEST(SamplerTest, IgnoreEosHelperBansTokens) {
  SamplingParams params{.temperature = 0.0f};
  const std::array<TokenId, 2> eos = {1, 3};
  AddIgnoreEosBias(eos, params);
  Sampler sampler = MustCreate(params, 5);
  EXPECT_EQ(MustSample(sampler, {0.1f, 2.5f, -1.0f, 2.4f, 0.0f}), 0);
}

TEST(SamplerTest, AllBannedIsAnError) {
  SamplingParams params = Plain(1);
  AddIgnoreEosBias(std::vector<TokenId>{0, 1}, params);
  Sampler sampler = MustCreate(params, 2);
  absl::StatusOr<TokenId> token = sampler.Sample(std::vector<float>{1, 2});
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SamplerTest, PenaltiesSeeThePromptAndGeneratedTokens) {
  // Greedy with a strong repetition penalty walks down the ranking: every
  // pick is penalized for the following steps.
  SamplingParams params{.temperature = 0.0f,
                        .top_k = 0,
                        .top_p = 1.0f,
                        .min_p = 0.0f,
                        .repeat_last_n = 64,
                        .repeat_penalty = 10.0f};
  Sampler sampler = MustCreate(params, 4);
  const std::vector<float> logits = {4.0f, 3.0f, 2.0f, 1.0f};
  ASSERT_TRUE(sampler.AcceptPrompt(std::vector<TokenId>{0}).ok());
  EXPECT_EQ(MustSample(sampler, logits), 1);  // 0 fell to 0.4
  EXPECT_EQ(MustSample(sampler, logits), 2);  // 1 fell to 0.3
  EXPECT_EQ(MustSample(sampler, logits), 3);
  EXPECT_EQ(MustSample(sampler, logits), 0);  // all penalized: 0.4 is best
  sampler.Reset();
  EXPECT_EQ(MustSample(sampler, logits), 0);
}

TEST(SamplerTest, PenaltyWindowForgetsOldTokens) {
  SamplingParams params{
      .temperature = 0.0f, .repeat_last_n = 2, .presence_penalty = 5.0f};
  Sampler sampler = MustCreate(params, 3);
  const std::vector<float> logits = {3.0f, 2.0f, 1.0f};
  ASSERT_TRUE(sampler.AcceptPrompt(std::vector<TokenId>{0, 1, 1}).ok());
  EXPECT_EQ(MustSample(sampler, logits), 0);  // 0 left the window
}

TEST(SamplerTest, SameSeedSameSequenceDifferentSeedDiffers) {
  const std::vector<float> logits = {0.5f, 1.0f, 0.2f, 1.5f, 0.9f, -0.3f};
  auto draw = [&](uint64_t seed) {
    Sampler sampler = MustCreate(Plain(seed), 6);
    std::vector<TokenId> tokens;
    for (int i = 0; i < 1000; ++i)
      tokens.push_back(MustSample(sampler, logits));
    return tokens;
  };
  const std::vector<TokenId> a = draw(42);
  EXPECT_EQ(a, draw(42));
  EXPECT_NE(a, draw(43));
  EXPECT_NE(a, draw(uint64_t{42} << 32));
}

TEST(SamplerTest, ResetReplaysTheSequence) {
  const std::vector<float> logits = {0.5f, 1.0f, 0.2f, 1.5f};
  SamplingParams params = Plain(7);
  params.repeat_penalty = 1.3f;
  Sampler sampler = MustCreate(params, 4);
  std::vector<TokenId> first, second;
  for (int i = 0; i < 100; ++i) first.push_back(MustSample(sampler, logits));
  sampler.Reset();
  for (int i = 0; i < 100; ++i) second.push_back(MustSample(sampler, logits));
  EXPECT_EQ(first, second);
}

TEST(SamplerTest, RandomSeedIsResolvedAndReported) {
  Sampler sampler = MustCreate(Plain(kRandomSeed), 4);
  EXPECT_NE(sampler.seed(), kRandomSeed);
  // Replaying the reported seed gives the same tokens.
  Sampler replay = MustCreate(Plain(sampler.seed()), 4);
  const std::vector<float> logits = {0.5f, 1.0f, 0.2f, 1.5f};
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(MustSample(sampler, logits), MustSample(replay, logits));
  }
  EXPECT_EQ(MustCreate(Plain(9), 4).seed(), 9u);
}

// With a fixed seed the result is deterministic, so a loose bound is not
// flaky: 20000 draws put each frequency within ~0.0035 (one sigma) of p.
TEST(SamplerTest, FrequenciesFollowTheProbabilities) {
  const std::vector<float> probs = {0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<float> logits;
  for (float p : probs) logits.push_back(std::log(p));
  Sampler sampler = MustCreate(Plain(2024), 4);
  std::array<int, 4> counts = {};
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[MustSample(sampler, logits)];
  for (size_t i = 0; i < probs.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(counts[i]) / n, probs[i], 0.015) << i;
  }
}

TEST(SamplerTest, TemperatureSharpensTheDistribution) {
  // Logits log(0.4), log(0.6): at temperature 0.5 the odds square, giving
  // 0.16 / 0.52 = 0.3077 for token 0.
  const std::vector<float> logits = {std::log(0.4f), std::log(0.6f)};
  SamplingParams params = Plain(5);
  params.temperature = 0.5f;
  Sampler sampler = MustCreate(params, 2);
  int zeros = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) zeros += MustSample(sampler, logits) == 0;
  EXPECT_NEAR(static_cast<double>(zeros) / n, 0.16 / 0.52, 0.015);
}

TEST(SamplerTest, TruncationLimitsTheChoices) {
  // Default top-k 40 and min-p 0.05 with top-p 0.94: min-p removes 0.01
  // (< 0.05 * 0.5) and top-p stops at 0.5 + 0.3 + 0.15 = 0.95, so tokens 3
  // (0.04) and 4 (0.01) can never come out.
  const std::vector<float> probs = {0.5f, 0.3f, 0.15f, 0.04f, 0.01f};
  std::vector<float> logits;
  for (float p : probs) logits.push_back(std::log(p));
  SamplingParams params{.temperature = 1.0f, .top_p = 0.94f, .seed = 11};
  Sampler sampler = MustCreate(params, 5);
  std::array<int, 5> counts = {};
  for (int i = 0; i < 2000; ++i) ++counts[MustSample(sampler, logits)];
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[2], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_EQ(counts[4], 0);
  // What survived the chain on the last draw: three candidates.
  EXPECT_EQ(sampler.candidates().size(), 3u);
}

TEST(SamplerTest, LogprobsComeFromTheRawLogits) {
  // Bias and temperature change the pick, not the reported logprobs.
  SamplingParams params{
      .temperature = 0.0f, .logit_bias = {{0, 10.0f}}, .top_logprobs = 2};
  Sampler sampler = MustCreate(params, 3);
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f};
  TokenLogprobs logprobs;
  absl::StatusOr<TokenId> token = sampler.Sample(logits, &logprobs);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, 0);
  const double log_z = std::log(1.0 + std::exp(2.0) + std::exp(1.0));
  EXPECT_EQ(logprobs.chosen.token, 0);
  EXPECT_NEAR(logprobs.chosen.logprob, 0.0 - log_z, 1e-5);
  ASSERT_EQ(logprobs.top().size(), 2u);
  EXPECT_EQ(logprobs.top()[0].token, 1);
  EXPECT_NEAR(logprobs.top()[0].logprob, 2.0 - log_z, 1e-5);
  EXPECT_EQ(logprobs.top()[1].token, 2);
}

TEST(SamplerTest, RejectsBadInputs) {
  EXPECT_EQ(Sampler::Create(SamplingParams{}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      Sampler::Create(SamplingParams{.top_p = 2.0f}, 4).status().message(),
      HasSubstr("top_p"));

  Sampler sampler = MustCreate(Plain(1), 4);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, 2, 3}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, NAN, 3, 4}).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, kInf, 3, 4}).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(sampler.Accept(4).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sampler.Accept(-1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sampler.AcceptPrompt(std::vector<TokenId>{0, 9}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SamplerTest, AcceptPromptIsAllOrNothing) {
  SamplingParams params{.temperature = 0.0f,
                        .top_k = 0,
                        .top_p = 1.0f,
                        .min_p = 0.0f,
                        .presence_penalty = 5.0f};
  Sampler sampler = MustCreate(params, 3);
  EXPECT_FALSE(sampler.AcceptPrompt(std::vector<TokenId>{0, 7}).ok());
  EXPECT_EQ(MustSample(sampler, {3.0f, 2.0f, 1.0f}), 0);  // 0 not recorded
}

}  // namespace
}  // namespace ggufd::sampling
