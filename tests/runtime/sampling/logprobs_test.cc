#include "runtime/sampling/logprobs.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace ggufd::sampling {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(LogprobsTest, LogSoftmaxOfTheChosenToken) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const double log_z = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  for (TokenId t = 0; t < 3; ++t) {
    absl::StatusOr<TokenLogprobs> result = ComputeLogprobs(logits, t, 0);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->chosen.token, t);
    EXPECT_NEAR(result->chosen.logprob, logits[t] - log_z, 1e-6);
    EXPECT_TRUE(result->top().empty());
  }
}

TEST(LogprobsTest, ExactProbabilities) {
  // log(p) logits give back log(p) exactly (up to float rounding).
  const std::vector<float> probs = {0.5f, 0.25f, 0.125f, 0.125f};
  std::vector<float> logits;
  for (float p : probs) logits.push_back(std::log(p) + 7.0f);  // any shift
  absl::StatusOr<TokenLogprobs> result = ComputeLogprobs(logits, 2, 4);
  ASSERT_TRUE(result.ok());
  EXPECT_NEAR(result->chosen.logprob, std::log(0.125), 1e-5);
  ASSERT_EQ(result->top().size(), 4u);
  // Most likely first; the tie between 2 and 3 keeps the lower id first.
  const TokenId order[] = {0, 1, 2, 3};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(result->top()[i].token, order[i]);
    EXPECT_NEAR(result->top()[i].logprob, std::log(probs[order[i]]), 1e-5);
  }
}

TEST(LogprobsTest, TopNOfALargerVocabulary) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) {
    logits[i] = static_cast<float>((i * 7919) % 1000) / 100.0f;
  }
  absl::StatusOr<TokenLogprobs> result = ComputeLogprobs(logits, 0, 20);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->top().size(), 20u);
  // (i * 7919) % 1000 is a permutation: the top values are 9.99, 9.98, ...
  for (size_t k = 0; k < 20; ++k) {
    const TokenId id = result->top()[k].token;
    EXPECT_FLOAT_EQ(logits[static_cast<size_t>(id)],
                    static_cast<float>(999 - k) / 100.0f);
  }
}

TEST(LogprobsTest, MaskedTokensAndShortVocabulary) {
  const std::vector<float> logits = {0.0f, -kInf};
  absl::StatusOr<TokenLogprobs> result = ComputeLogprobs(logits, 1, 20);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->chosen.logprob, -kInf);
  ASSERT_EQ(result->top().size(), 2u);  // only as many as the vocabulary
  EXPECT_EQ(result->top()[0].token, 0);
  EXPECT_FLOAT_EQ(result->top()[0].logprob, 0.0f);
}

TEST(LogprobsTest, Errors) {
  const std::vector<float> ok = {1.0f, 2.0f};
  EXPECT_FALSE(ComputeLogprobs({}, 0, 0).ok());
  EXPECT_FALSE(ComputeLogprobs(ok, 2, 0).ok());
  EXPECT_FALSE(ComputeLogprobs(ok, -1, 0).ok());
  EXPECT_FALSE(ComputeLogprobs(ok, 0, 21).ok());
  EXPECT_FALSE(ComputeLogprobs(ok, 0, -1).ok());
  EXPECT_FALSE(ComputeLogprobs(std::vector<float>{1.0f, NAN}, 0, 0).ok());
  EXPECT_FALSE(ComputeLogprobs(std::vector<float>{1.0f, kInf}, 0, 0).ok());
  EXPECT_FALSE(ComputeLogprobs(std::vector<float>{-kInf, -kInf}, 0, 0).ok());
}

}  // namespace
}  // namespace ggufd::sampling
