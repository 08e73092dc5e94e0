#include "runtime/sampling/sampling_params.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ggufd::sampling {
namespace {

using ::testing::HasSubstr;

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SamplingParamsTest, DefaultsAreLlamaCppCommonDefaults) {
  const SamplingParams params;
  EXPECT_EQ(params.temperature, 0.8f);
  EXPECT_EQ(params.top_k, 40);
  EXPECT_EQ(params.top_p, 0.95f);
  EXPECT_EQ(params.min_p, 0.05f);
  EXPECT_EQ(params.typical_p, 1.0f);
  EXPECT_EQ(params.min_keep, 0);
  EXPECT_EQ(params.repeat_last_n, 64);
  EXPECT_EQ(params.repeat_penalty, 1.0f);
  EXPECT_EQ(params.presence_penalty, 0.0f);
  EXPECT_EQ(params.frequency_penalty, 0.0f);
  EXPECT_EQ(params.seed, kRandomSeed);
  EXPECT_TRUE(params.logit_bias.empty());
  EXPECT_EQ(params.top_logprobs, 0);
  EXPECT_TRUE(params.Validate(32000).ok());
  EXPECT_TRUE(params.Validate(0).ok());
}

TEST(SamplingParamsTest, AcceptsEdgeValues) {
  const SamplingParams edges[] = {
      {.temperature = 0.0f},
      {.temperature = 100.0f},
      {.top_k = 0},
      {.top_k = 1000000},
      {.top_p = 0.0f, .min_p = 1.0f, .typical_p = 0.0f},
      {.min_keep = 32000},
      {.repeat_last_n = 0},
      {.repeat_last_n = kMaxRepeatLastN},
      {.presence_penalty = -2.0f, .frequency_penalty = 2.0f},
      {.logit_bias = {{0, -kInf}, {31999, 100.0f}, {0, 1.0f}}},
      {.top_logprobs = kMaxTopLogprobs},
  };
  for (const SamplingParams& p : edges) {
    EXPECT_TRUE(p.Validate(32000).ok()) << p.Validate(32000);
  }
}

TEST(SamplingParamsTest, RejectsAbsurdValues) {
  const float nan = std::nanf("");
  const struct {
    SamplingParams params;
    std::string message;
  } cases[] = {
      {{.temperature = nan}, "temperature must be a finite number"},
      {{.temperature = kInf}, "temperature must be a finite number"},
      {{.top_k = -1}, "top_k must be in [0, "},
      {{.top_p = 1.5f}, "top_p must be in [0, 1], got 1.5"},
      {{.top_p = -0.1f}, "top_p must be in [0, 1]"},
      {{.top_p = nan}, "top_p must be a finite number"},
      {{.min_p = 2.0f}, "min_p must be in [0, 1]"},
      {{.typical_p = -1.0f}, "typical_p must be in [0, 1]"},
      {{.min_keep = -1}, "min_keep must be in [0, 32000]"},
      {{.min_keep = 32001}, "min_keep must be in [0, 32000]"},
      {{.repeat_last_n = -1}, "repeat_last_n must be in [0, 1048576]"},
      {{.repeat_last_n = 1 << 30}, "repeat_last_n must be in [0, 1048576]"},
      {{.repeat_penalty = 0.0f}, "repeat_penalty must be in"},
      {{.repeat_penalty = 1e-38f}, "repeat_penalty must be in"},
      {{.presence_penalty = 3e38f}, "presence_penalty must be in"},
      {{.frequency_penalty = -3e38f}, "frequency_penalty must be in"},
      {{.logit_bias = {{3, 3e38f}}}, "logit_bias[0] (token 3) must be in"},
      {{.repeat_penalty = nan}, "repeat_penalty must be a finite number"},
      {{.presence_penalty = kInf}, "presence_penalty must be a finite"},
      {{.frequency_penalty = nan}, "frequency_penalty must be a finite"},
      {{.logit_bias = {{0, 1.0f}, {32000, 1.0f}}},
       "logit_bias[1] names token 32000, outside the vocabulary [0, 32000)"},
      {{.logit_bias = {{-5, 1.0f}}}, "names token -5"},
      {{.logit_bias = {{3, kInf}}}, "logit_bias[0] (token 3) must be in"},
      {{.logit_bias = {{3, nan}}}, "or -inf"},
      {{.top_logprobs = 21}, "top_logprobs must be in [0, 20], got 21"},
      {{.top_logprobs = -1}, "top_logprobs must be in [0, 20]"},
  };
  for (const auto& c : cases) {
    const absl::Status status = c.params.Validate(32000);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
  }
}

TEST(SamplingParamsTest, UnknownVocabularySkipsUpperBounds) {
  const SamplingParams params{.min_keep = 100000,
                              .logit_bias = {{1000000, 1.0f}}};
  EXPECT_TRUE(params.Validate(0).ok());
  EXPECT_FALSE(params.Validate(32000).ok());
  const SamplingParams negative_id{.logit_bias = {{-1, 0.0f}}};
  EXPECT_FALSE(negative_id.Validate(0).ok());
  EXPECT_FALSE(SamplingParams{}.Validate(-1).ok());
}

TEST(SamplingParamsTest, TooManyBiasEntries) {
  SamplingParams params;
  params.logit_bias.assign(300000, LogitBias{0, 1.0f});
  EXPECT_THAT(std::string(params.Validate(0).message()),
              HasSubstr("at most 262144"));
}

TEST(SamplingParamsTest, AddIgnoreEosBias) {
  SamplingParams params{.logit_bias = {{5, 1.0f}}};
  AddIgnoreEosBias(std::vector<TokenId>{2, 7}, params);
  ASSERT_EQ(params.logit_bias.size(), 3u);
  EXPECT_EQ(params.logit_bias[1].token, 2);
  EXPECT_EQ(params.logit_bias[1].bias, -kInf);
  EXPECT_EQ(params.logit_bias[2].token, 7);
  EXPECT_TRUE(params.Validate(8).ok());
}

TEST(SamplingOverridesTest, SetFieldsReplaceAndUnsetFieldsKeep) {
  const SamplingParams base{.temperature = 0.3f,
                            .top_k = 7,
                            .seed = 5,
                            .logit_bias = {{3, -1.0f}},
                            .top_logprobs = 2};
  const SamplingParams same = SamplingOverrides{}.ApplyTo(base);
  EXPECT_EQ(same.temperature, 0.3f);
  EXPECT_EQ(same.top_k, 7);
  EXPECT_EQ(same.seed, 5u);
  ASSERT_EQ(same.logit_bias.size(), 1u);
  EXPECT_EQ(same.top_logprobs, 2);

  const SamplingParams merged =
      SamplingOverrides{.top_k = 0, .min_p = 0.5f, .top_logprobs = 0}.ApplyTo(
          base);
  EXPECT_EQ(merged.temperature, 0.3f);  // kept
  EXPECT_EQ(merged.top_k, 0);           // a zero that is set still replaces
  EXPECT_EQ(merged.min_p, 0.5f);
  EXPECT_EQ(merged.top_p, base.top_p);
  EXPECT_EQ(merged.seed, 5u);
  EXPECT_EQ(merged.top_logprobs, 0);
  ASSERT_EQ(merged.logit_bias.size(), 1u);
  EXPECT_EQ(merged.logit_bias[0].token, 3);
}

TEST(SamplingOverridesTest, LogitBiasIsReplacedWholeAndAnEmptyListClearsIt) {
  const SamplingParams base{.logit_bias = {{3, -1.0f}, {4, 2.0f}}};
  SamplingOverrides replace;
  replace.logit_bias = std::vector<LogitBias>{{9, -kInf}};
  const SamplingParams replaced = replace.ApplyTo(base);
  ASSERT_EQ(replaced.logit_bias.size(), 1u);
  EXPECT_EQ(replaced.logit_bias[0].token, 9);

  SamplingOverrides clear;
  clear.logit_bias.emplace();
  EXPECT_TRUE(clear.ApplyTo(base).logit_bias.empty());
}

}  // namespace
}  // namespace ggufd::sampling
