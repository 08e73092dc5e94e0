// The sampler with a grammar as its filter (llama.cpp's order: pick first,
// mask and pick again only when the pick is refused): greedy equals the
// argmax over the allowed tokens, sampled picks are always allowed, a
// filter that refuses nothing changes nothing, and a filter that allows
// nothing fails the sample.
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/grammar/gbnf_parser.h"
#include "runtime/grammar/matcher.h"
#include "runtime/sampling/sampler.h"

namespace ggufd {
namespace {

// The matcher as the sampler's filter, as the runtime adapts it.
class MatcherFilter : public sampling::TokenFilter {
 public:
  explicit MatcherFilter(grammar::Matcher& m) : m_(m) {}
  absl::StatusOr<bool> Allows(sampling::TokenId t) override {
    ++checks;
    return m_.Allows(t);
  }
  absl::Status Mask(absl::Span<float> logits) override {
    ++masks;
    return m_.MaskLogits(logits);
  }
  int checks = 0;
  int masks = 0;

 private:
  grammar::Matcher& m_;
};

// 64 tokens: single letters and digits, a few words, and an end token.
std::shared_ptr<const grammar::TokenTrie> Vocab() {
  std::vector<std::string> pieces;
  for (char c = 'a'; c <= 'z'; ++c) pieces.push_back(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) pieces.push_back(std::string(1, c));
  for (const char* w : {"ab", "abc", "12", "123", " ", ",", "x1", "1x"}) {
    pieces.push_back(w);
  }
  while (pieces.size() < 63) pieces.push_back("?");
  pieces.push_back("</s>");
  std::vector<bool> eog(pieces.size(), false);
  eog.back() = true;
  return std::make_shared<const grammar::TokenTrie>(
      grammar::TokenTrie::Build(pieces, eog));
}

std::unique_ptr<grammar::Matcher> Digits() {
  auto g = grammar::ParseGbnf("root ::= [0-9]+ (\",\" [0-9]+)*");
  auto m = grammar::Matcher::Create(
      std::make_shared<const grammar::Grammar>(std::move(*g)), Vocab());
  return std::move(*m);
}

std::vector<float> RandomLogits(std::mt19937& rng) {
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> logits(64);
  for (float& l : logits) l = normal(rng);
  return logits;
}

TEST(SamplerFilterTest, GreedyIsTheArgmaxOfTheAllowed) {
  auto sampler = sampling::Sampler::Create({.temperature = 0}, 64);
  ASSERT_TRUE(sampler.ok());
  std::mt19937 rng(1);
  int masked = 0;
  for (int step = 0; step < 200; ++step) {
    auto matcher = Digits();
    MatcherFilter filter(*matcher);
    const std::vector<float> logits = RandomLogits(rng);
    auto token = sampler->Sample(logits, nullptr, &filter);
    ASSERT_TRUE(token.ok()) << token.status();
    // Mask first, then argmax: what llama.cpp's order must equal.
    std::vector<float> want = logits;
    ASSERT_TRUE(matcher->MaskLogits(absl::MakeSpan(want)).ok());
    const auto best = std::max_element(want.begin(), want.end()) - want.begin();
    EXPECT_EQ(*token, best) << "step " << step;
    masked += filter.masks;
  }
  EXPECT_GT(masked, 100);  // most random picks broke the grammar
}

TEST(SamplerFilterTest, SampledPicksAreAlwaysAllowed) {
  auto sampler = sampling::Sampler::Create(
      {.temperature = 1.5f, .top_k = 0, .top_p = 1, .min_p = 0, .seed = 7}, 64);
  ASSERT_TRUE(sampler.ok());
  auto matcher = Digits();
  MatcherFilter filter(*matcher);
  std::mt19937 rng(2);
  for (int step = 0; step < 300; ++step) {
    auto token = sampler->Sample(RandomLogits(rng), nullptr, &filter);
    ASSERT_TRUE(token.ok()) << token.status();
    ASSERT_TRUE(matcher->Allows(*token).value()) << "step " << step;
    if (*token == 63) break;  // the end token, where the grammar may end
    ASSERT_TRUE(matcher->Accept(*token).ok());
  }
}

TEST(SamplerFilterTest, AFilterThatRefusesNothingChangesNothing) {
  auto g = grammar::ParseGbnf("root ::= .*");
  auto m = grammar::Matcher::Create(
      std::make_shared<const grammar::Grammar>(std::move(*g)), Vocab());
  ASSERT_TRUE(m.ok());
  MatcherFilter filter(**m);
  const sampling::SamplingParams params{.temperature = 0.9f, .seed = 11};
  auto with = sampling::Sampler::Create(params, 64);
  auto without = sampling::Sampler::Create(params, 64);
  std::mt19937 rng(3);
  for (int step = 0; step < 100; ++step) {
    const std::vector<float> logits = RandomLogits(rng);
    auto a = with->Sample(logits, nullptr, &filter);
    auto b = without->Sample(logits);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(*a, *b) << "step " << step;
    if (*a != 63) {
      ASSERT_TRUE((*m)->Accept(*a).ok());
    }
  }
  EXPECT_EQ(filter.masks, 0);
}

TEST(SamplerFilterTest, NothingAllowedFails) {
  auto g = grammar::ParseGbnf("root ::= \"%\"");
  auto m = grammar::Matcher::Create(
      std::make_shared<const grammar::Grammar>(std::move(*g)), Vocab());
  MatcherFilter filter(**m);
  auto sampler = sampling::Sampler::Create({.temperature = 0}, 64);
  std::mt19937 rng(4);
  auto token = sampler->Sample(RandomLogits(rng), nullptr, &filter);
  EXPECT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("admits no token"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace ggufd
