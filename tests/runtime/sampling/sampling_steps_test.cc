// Each sampling step alone on tiny exact inputs, in the manner of llama.cpp's
// tests/test-sampling.cpp: candidates are built from probabilities (logit =
// log p), one step runs, and the survivors' renormalized probabilities are
// compared, most likely first.
#include "runtime/sampling/sampling_steps.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/sampling/token_candidates.h"

namespace ggufd::sampling {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> LogsOf(const std::vector<float>& probs) {
  std::vector<float> logits;
  for (float p : probs) logits.push_back(std::log(p));
  return logits;
}

// Runs `step` over candidates made from `probs`; returns the survivors'
// probabilities after a fresh softmax, highest first.
std::vector<float> SurvivingProbs(SamplingStep& step,
                                  const std::vector<float>& probs) {
  TokenCandidates candidates(static_cast<int32_t>(probs.size()));
  candidates.Fill(LogsOf(probs));
  step.Apply(candidates);
  candidates.Sort();
  candidates.Softmax();
  std::vector<float> out;
  for (const TokenCandidate& c : candidates) out.push_back(c.p);
  return out;
}

void ExpectProbs(const std::vector<float>& actual,
                 const std::vector<float>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-5) << what << " at " << i;
  }
}

const std::vector<float> kFour = {0.1f, 0.2f, 0.3f, 0.4f};

struct TruncationCase {
  std::string name;
  std::vector<float> probs;
  float param;
  int32_t min_keep;
  std::vector<float> expected;
};

TEST(TopKStepTest, Table) {
  const struct {
    int32_t k;
    std::vector<float> expected;
  } cases[] = {
      {1, {1.0f}},
      {3, {0.4f / 0.9f, 0.3f / 0.9f, 0.2f / 0.9f}},
      {4, {0.4f, 0.3f, 0.2f, 0.1f}},
      {10, {0.4f, 0.3f, 0.2f, 0.1f}},
      {0, {0.4f, 0.3f, 0.2f, 0.1f}},
      {-1, {0.4f, 0.3f, 0.2f, 0.1f}},
  };
  for (const auto& c : cases) {
    TopKStep step(c.k);
    ExpectProbs(SurvivingProbs(step, kFour), c.expected,
                "k=" + std::to_string(c.k));
  }
}

TEST(TopKStepTest, SortsAndBreaksTiesByLowerId) {
  TokenCandidates candidates(5);
  candidates.Fill(std::vector<float>{1.0f, 3.0f, 2.0f, 3.0f, 0.0f});
  TopKStep(3).Apply(candidates);
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_TRUE(candidates.sorted());
  EXPECT_EQ(candidates[0].id, 1);
  EXPECT_EQ(candidates[1].id, 3);
  EXPECT_EQ(candidates[2].id, 2);
}

TEST(TopPStepTest, Table) {
  const TruncationCase cases[] = {
      {"p=0 keeps the best", kFour, 0.0f, 0, {1.0f}},
      {"0.4 reaches 0.39", kFour, 0.39f, 0, {1.0f}},
      {"0.4+0.3 reaches 0.69", kFour, 0.69f, 0, {0.4f / 0.7f, 0.3f / 0.7f}},
      {"0.71 needs three",
       kFour,
       0.71f,
       0,
       {0.4f / 0.9f, 0.3f / 0.9f, 0.2f / 0.9f}},
      {"0.95 needs all", kFour, 0.95f, 0, {0.4f, 0.3f, 0.2f, 0.1f}},
      {"p=1 is off", kFour, 1.0f, 0, {0.4f, 0.3f, 0.2f, 0.1f}},
      {"min_keep 2", kFour, 0.0f, 2, {0.4f / 0.7f, 0.3f / 0.7f}},
      {"unsorted input",
       {0.3f, 0.1f, 0.4f, 0.2f},
       0.69f,
       0,
       {0.4f / 0.7f, 0.3f / 0.7f}},
  };
  for (const auto& c : cases) {
    TopPStep step(c.param, c.min_keep);
    ExpectProbs(SurvivingProbs(step, c.probs), c.expected, c.name);
  }
}

// More than the first partially sorted prefix (256) must be examined.
TEST(TopPStepTest, LargeFlatVocabularyNeedsTheWholeSort) {
  const int32_t n = 2000;
  std::vector<float> logits(n);
  for (int32_t i = 0; i < n; ++i) logits[i] = static_cast<float>(i % 7) * 1e-3f;
  TokenCandidates candidates(n);
  candidates.Fill(logits);
  TopPStep(0.5f, 0).Apply(candidates);
  // Nearly uniform: about half the tokens are needed, all sorted.
  EXPECT_GT(candidates.size(), 900u);
  EXPECT_LT(candidates.size(), 1100u);
  for (size_t i = 1; i < candidates.size(); ++i) {
    EXPECT_FALSE(HigherLogit(candidates[i], candidates[i - 1])) << i;
  }
}

// The staged partial ordering must keep exactly what a full sort followed by
// the cumulative scan keeps.
TEST(TopPStepTest, MatchesAFullSortReference) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float spread : {0.5f, 2.0f, 6.0f}) {
    for (float p : {0.1f, 0.5f, 0.9f, 0.99f}) {
      std::vector<float> logits(3000);
      for (float& l : logits) l = normal(rng) * spread;
      TokenCandidates reference(3000);
      reference.Fill(logits);
      reference.Softmax();
      reference.Sort();
      float cumulative = 0.0f;
      size_t keep = reference.size();
      for (size_t i = 0; i < reference.size(); ++i) {
        cumulative += reference[i].p;
        if (cumulative >= p) {
          keep = i + 1;
          break;
        }
      }
      TokenCandidates candidates(3000);
      candidates.Fill(logits);
      TopPStep(p, 0).Apply(candidates);
      ASSERT_EQ(candidates.size(), keep) << spread << " " << p;
      for (size_t i = 0; i < keep; ++i) {
        ASSERT_EQ(candidates[i].id, reference[i].id) << i;
      }
    }
  }
}

TEST(MinPStepTest, Table) {
  const TruncationCase cases[] = {
      {"p=0 is off", kFour, 0.0f, 0, {0.4f, 0.3f, 0.2f, 0.1f}},
      {"0.1/0.4 = 0.25 passes 0.24", kFour, 0.24f, 0, {0.4f, 0.3f, 0.2f, 0.1f}},
      {"0.26 drops 0.1",
       kFour,
       0.26f,
       0,
       {0.4f / 0.9f, 0.3f / 0.9f, 0.2f / 0.9f}},
      {"0.74 keeps two", kFour, 0.74f, 0, {0.4f / 0.7f, 0.3f / 0.7f}},
      {"0.76 keeps one", kFour, 0.76f, 0, {1.0f}},
      {"p=1 keeps the max", kFour, 1.0f, 0, {1.0f}},
      {"min_keep 3 overrides",
       kFour,
       0.76f,
       3,
       {0.4f / 0.9f, 0.3f / 0.9f, 0.2f / 0.9f}},
  };
  for (const auto& c : cases) {
    MinPStep step(c.param, c.min_keep);
    ExpectProbs(SurvivingProbs(step, c.probs), c.expected, c.name);
  }
}

TEST(MinPStepTest, KeepsTheInputOrder) {
  TokenCandidates candidates(4);
  candidates.Fill(LogsOf({0.3f, 0.1f, 0.4f, 0.2f}));
  MinPStep(0.4f, 0).Apply(candidates);
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0].id, 0);
  EXPECT_EQ(candidates[1].id, 2);
  EXPECT_EQ(candidates[2].id, 3);
}

TEST(TypicalStepTest, Table) {
  const TruncationCase cases[] = {
      // The dominant token is also the typical one.
      {"peaked", {0.97f, 0.01f, 0.01f, 0.01f}, 0.5f, 0, {1.0f}},
      // H = 1.33; surprisal of 0.2 is 1.61 (|d| = 0.28), of 0.4 is 0.92
      // (|d| = 0.42): the three 0.2 tokens come first and reach 0.6 > 0.5.
      {"flat tail",
       {0.4f, 0.2f, 0.2f, 0.2f},
       0.5f,
       0,
       {1.0f / 3, 1.0f / 3, 1.0f / 3}},
      {"p=1 is off", kFour, 1.0f, 0, {0.4f, 0.3f, 0.2f, 0.1f}},
      {"min_keep 2",
       {0.97f, 0.01f, 0.01f, 0.01f},
       0.5f,
       2,
       {0.97f / 0.98f, 0.01f / 0.98f}},
  };
  for (const auto& c : cases) {
    TypicalStep step(static_cast<int32_t>(c.probs.size()), c.param, c.min_keep);
    ExpectProbs(SurvivingProbs(step, c.probs), c.expected, c.name);
  }
}

TEST(TypicalStepTest, CanDropTheMostLikelyToken) {
  TokenCandidates candidates(4);
  candidates.Fill(LogsOf({0.4f, 0.2f, 0.2f, 0.2f}));
  TypicalStep(4, 0.5f, 0).Apply(candidates);
  ASSERT_EQ(candidates.size(), 3u);
  for (const TokenCandidate& c : candidates) EXPECT_NE(c.id, 0);
}

TEST(TemperatureStepTest, DividesLogits) {
  TokenCandidates candidates(3);
  candidates.Fill(std::vector<float>{1.0f, -2.0f, 3.0f});
  TemperatureStep(0.5f).Apply(candidates);
  EXPECT_FLOAT_EQ(candidates[0].logit, 2.0f);
  EXPECT_FLOAT_EQ(candidates[1].logit, -4.0f);
  EXPECT_FLOAT_EQ(candidates[2].logit, 6.0f);
}

TEST(TemperatureStepTest, ZeroKeepsOnlyTheBest) {
  TokenCandidates candidates(4);
  candidates.Fill(std::vector<float>{1.0f, 5.0f, 5.0f, 3.0f});
  TemperatureStep(0.0f).Apply(candidates);
  EXPECT_EQ(candidates[0].logit, -kInf);
  EXPECT_EQ(candidates[1].logit, 5.0f);  // lower id of the tie
  EXPECT_EQ(candidates[2].logit, -kInf);
  EXPECT_EQ(candidates[3].logit, -kInf);
}

TEST(GreedyPickStepTest, PicksLargestLogitLowestId) {
  const struct {
    std::vector<float> logits;
    int64_t expected_index;
  } cases[] = {
      {{0.1f, 0.9f, 0.5f}, 1},
      {{2.0f, -1.0f, 2.0f}, 0},
      {{-kInf, -3.0f, -kInf}, 1},
      {{-kInf, -kInf}, -1},
  };
  for (const auto& c : cases) {
    TokenCandidates candidates(static_cast<int32_t>(c.logits.size()));
    candidates.Fill(c.logits);
    GreedyPickStep().Apply(candidates);
    EXPECT_EQ(candidates.selected(), c.expected_index);
  }
}

TEST(RandomPickStepTest, NeverPicksMaskedTokens) {
  TokenCandidates candidates(4);
  RandomPickStep step(/*seed=*/1);
  for (int i = 0; i < 500; ++i) {
    candidates.Fill(std::vector<float>{-kInf, 0.0f, -kInf, 1.0f});
    step.Apply(candidates);
    const int64_t s = candidates.selected();
    EXPECT_TRUE(s == 1 || s == 3) << s;
  }
  candidates.Fill(std::vector<float>{-kInf, -kInf});
  step.Apply(candidates);
  EXPECT_EQ(candidates.selected(), -1);
}

TEST(RandomPickStepTest, LeavesNormalizedProbabilities) {
  TokenCandidates candidates(4);
  candidates.Fill(LogsOf(kFour));
  RandomPickStep(/*seed=*/3).Apply(candidates);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(candidates[i].p, kFour[i], 1e-6);
}

TEST(PenaltiesStepTest, Table) {
  // Logits of tokens 0..4; tokens 0 (once), 1 (twice) and 4 (once, logit 0)
  // were seen.
  const std::vector<float> logits = {2.0f, -2.0f, 0.5f, 1.0f, 0.0f};
  const std::vector<TokenId> history = {0, 1, 1, 4};
  const struct {
    std::string name;
    int32_t last_n;
    float repeat, frequency, presence;
    std::vector<float> expected;
  } cases[] = {
      {"repeat divides positive, multiplies negative",
       64,
       2.0f,
       0.0f,
       0.0f,
       {1.0f, -4.0f, 0.5f, 1.0f, 0.0f}},
      {"frequency per occurrence",
       64,
       1.0f,
       0.5f,
       0.0f,
       {1.5f, -3.0f, 0.5f, 1.0f, -0.5f}},
      {"presence once",
       64,
       1.0f,
       0.0f,
       0.25f,
       {1.75f, -2.25f, 0.5f, 1.0f, -0.25f}},
      {"all three", 64, 2.0f, 0.5f, 1.0f, {-0.5f, -6.0f, 0.5f, 1.0f, -1.5f}},
      // The window of 2 holds only {1, 4}.
      {"window", 2, 2.0f, 0.5f, 0.0f, {2.0f, -4.5f, 0.5f, 1.0f, -0.5f}},
      {"off", 0, 2.0f, 0.5f, 1.0f, {2.0f, -2.0f, 0.5f, 1.0f, 0.0f}},
  };
  for (const auto& c : cases) {
    PenaltiesStep step(5, c.last_n, c.repeat, c.frequency, c.presence);
    for (TokenId t : history) step.Accept(t);
    TokenCandidates candidates(5);
    candidates.Fill(logits);
    step.Apply(candidates);
    for (size_t i = 0; i < logits.size(); ++i) {
      EXPECT_FLOAT_EQ(candidates[i].logit, c.expected[i])
          << c.name << " token " << i;
    }
  }
}

TEST(PenaltiesStepTest, WindowSlidesAndResets) {
  PenaltiesStep step(4, 3, 2.0f, 0.0f, 0.0f);
  for (TokenId t : {0, 1, 2, 3, 3}) step.Accept(t);
  EXPECT_EQ(step.CountInWindow(0), 0);
  EXPECT_EQ(step.CountInWindow(1), 0);
  EXPECT_EQ(step.CountInWindow(2), 1);
  EXPECT_EQ(step.CountInWindow(3), 2);
  step.Reset();
  EXPECT_EQ(step.CountInWindow(3), 0);
  TokenCandidates candidates(4);
  candidates.Fill(std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f});
  step.Apply(candidates);
  for (const TokenCandidate& c : candidates) EXPECT_EQ(c.logit, 1.0f);
}

// llama.cpp's own case: a huge repetition penalty all but removes token 0.
TEST(PenaltiesStepTest, LlamaCppRepeatCase) {
  PenaltiesStep step(5, 64, 50.0f, 0.0f, 0.0f);
  step.Accept(0);
  std::vector<float> probs =
      SurvivingProbs(step, {0.2f, 0.2f, 0.2f, 0.2f, 0.2f});
  ExpectProbs(probs, {0.25f, 0.25f, 0.25f, 0.25f, 0.0f}, "repeat 50");
}

TEST(LogitBiasStepTest, AddsSumsAndBans) {
  const std::vector<LogitBias> biases = {
      {0, 1.0f}, {2, -kInf}, {0, 0.5f}, {3, -1.0f}};
  LogitBiasStep step(biases);
  TokenCandidates candidates(4);
  candidates.Fill(std::vector<float>{0.0f, 1.0f, 2.0f, 3.0f});
  step.Apply(candidates);
  EXPECT_FLOAT_EQ(candidates[0].logit, 1.5f);
  EXPECT_FLOAT_EQ(candidates[1].logit, 1.0f);
  EXPECT_EQ(candidates[2].logit, -kInf);
  EXPECT_FLOAT_EQ(candidates[3].logit, 2.0f);
  EXPECT_FALSE(candidates.sorted());
}

TEST(LogitBiasStepTest, FindsReorderedCandidates) {
  LogitBiasStep step(std::vector<LogitBias>{{0, 10.0f}, {3, -kInf}});
  TokenCandidates candidates(4);
  candidates.Fill(std::vector<float>{0.0f, 1.0f, 2.0f, 3.0f});
  candidates.Sort();  // ids 3, 2, 1, 0
  step.Apply(candidates);
  std::vector<std::pair<TokenId, float>> got;
  for (const TokenCandidate& c : candidates) got.push_back({c.id, c.logit});
  EXPECT_THAT(got, ElementsAre(std::pair<TokenId, float>{3, -kInf},
                               std::pair<TokenId, float>{2, 2.0f},
                               std::pair<TokenId, float>{1, 1.0f},
                               std::pair<TokenId, float>{0, 10.0f}));
}

TEST(TokenCandidatesTest, SoftmaxOfAllMaskedIsZero) {
  TokenCandidates candidates(3);
  candidates.Fill(std::vector<float>{-kInf, -kInf, -kInf});
  candidates.Softmax();
  for (const TokenCandidate& c : candidates) EXPECT_EQ(c.p, 0.0f);
}

TEST(TokenCandidatesTest, FillResetsState) {
  TokenCandidates candidates(3);
  candidates.Fill(std::vector<float>{1.0f, 2.0f, 3.0f});
  candidates.KeepTop(1);
  candidates.set_selected(0);
  candidates.Fill(std::vector<float>{1.0f, 2.0f, 3.0f});
  EXPECT_EQ(candidates.size(), 3u);
  EXPECT_FALSE(candidates.sorted());
  EXPECT_EQ(candidates.selected(), -1);
  std::vector<TokenId> ids;
  for (const TokenCandidate& c : candidates) ids.push_back(c.id);
  EXPECT_THAT(ids, ElementsAreArray({0, 1, 2}));
}

}  // namespace
}  // namespace ggufd::sampling
