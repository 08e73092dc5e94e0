// The forward pass against llama.cpp's golden logits for the synthetic
// llama model in each tensor type (see testdata/models/synth/README.md for
// the tolerances used here): every prompt is evaluated in one batch with
// logits at every position, then decoded greedily and with teacher forcing.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "runtime/model/run_state.h"
#include "runtime/tensor/thread_pool.h"

namespace ggufd::model {
namespace {

struct TypeCase {
  std::string type;
  double tolerance;  // max |logit difference|
};

std::string Path(const std::string& type, const std::string& suffix) {
  return std::string(GGUFD_TESTDATA_DIR) + "/models/synth/synth-llama-256-" +
         type + suffix;
}

int32_t Argmax(absl::Span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                              logits.begin());
}

class ForwardSynthTest : public ::testing::TestWithParam<TypeCase> {};

TEST_P(ForwardSynthTest, MatchesLlamaCppGoldens) {
  const TypeCase& tc = GetParam();
  std::ifstream in(Path(tc.type, ".golden.json"));
  ASSERT_TRUE(in.good());
  const nlohmann::json golden = nlohmann::json::parse(in);

  // The goldens were computed with an F32 KV cache.
  auto model = LoadModel(Path(tc.type, ".gguf"),
                         {.n_ctx = 512, .kv_type = KvType::kF32});
  ASSERT_TRUE(model.ok()) << model.status();
  tensor::ThreadPool pool(2);
  auto state = RunState::Create(
      **model, {.max_batch = 512, .max_logit_rows = 512, .max_threads = 2});
  ASSERT_TRUE(state.ok()) << state.status();
  RunState& s = **state;

  for (const nlohmann::json& prompt : golden["prompts"]) {
    const std::string name = prompt["name"];
    SCOPED_TRACE(name);
    const auto ids = prompt["prompt_ids"].get<std::vector<int32_t>>();
    s.Reset();
    ASSERT_TRUE(
        Forward(**model, s, pool, ids, 0, {.want_all_logits = true}).ok());

    // Top-10 logits at every position, matched by id.
    double max_diff = 0, sum_diff = 0;
    int n_diff = 0;
    for (size_t t = 0; t < ids.size(); ++t) {
      auto logits = s.logits_row(static_cast<int>(t));
      for (const auto& pair : prompt["top10"][t]) {
        const double d =
            std::abs(logits[pair[0].get<int>()] - pair[1].get<double>());
        max_diff = std::max(max_diff, d);
        sum_diff += d;
        ++n_diff;
      }
    }
    // The whole vector at the last position.
    const auto last = prompt["last_logits"].get<std::vector<float>>();
    auto logits = s.logits_row(static_cast<int>(ids.size()) - 1);
    for (size_t i = 0; i < last.size(); ++i) {
      const double d = std::abs(logits[i] - last[i]);
      max_diff = std::max(max_diff, d);
      sum_diff += d;
      ++n_diff;
    }
    EXPECT_LE(max_diff, tc.tolerance);
    EXPECT_LE(sum_diff / n_diff, std::min(0.07, tc.tolerance));

    // Greedy decoding, compared up to the first near-tie.
    const auto greedy = prompt["greedy_ids"].get<std::vector<int32_t>>();
    const auto margins = prompt["greedy_margins"].get<std::vector<double>>();
    int64_t pos = static_cast<int64_t>(ids.size());
    int32_t prev = Argmax(logits);
    for (size_t step = 0; step < greedy.size(); ++step) {
      if (margins[step] < 2 * tc.tolerance) break;
      ASSERT_EQ(prev, greedy[step]) << "greedy step " << step;
      if (step + 1 == greedy.size()) break;
      ASSERT_TRUE(Forward(**model, s, pool, {&prev, 1}, pos++).ok());
      prev = Argmax(s.logits_row(0));
    }

    // Teacher forcing: feed the golden ids, compare the recorded top-2.
    s.Reset();
    ASSERT_TRUE(Forward(**model, s, pool, ids, 0).ok());
    pos = static_cast<int64_t>(ids.size());
    for (size_t step = 0; step < greedy.size(); ++step) {
      for (const auto& pair : prompt["greedy_top2"][step]) {
        EXPECT_NEAR(s.logits_row(0)[pair[0].get<int>()], pair[1].get<double>(),
                    tc.tolerance)
            << "teacher-forced step " << step;
      }
      if (step + 1 < greedy.size()) {
        ASSERT_TRUE(Forward(**model, s, pool, {&greedy[step], 1}, pos++).ok());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, ForwardSynthTest,
    ::testing::Values(
        TypeCase{"F32", 1e-4}, TypeCase{"F16", 0.02}, TypeCase{"BF16", 0.15},
        TypeCase{"Q8_0", 0.5}, TypeCase{"Q4_0", 0.5}, TypeCase{"Q4_1", 0.5},
        TypeCase{"Q5_0", 0.5}, TypeCase{"Q5_1", 0.5}, TypeCase{"IQ4_NL", 0.5},
        TypeCase{"Q2_K", 0.6}, TypeCase{"Q3_K", 0.6}, TypeCase{"Q4_K", 0.6},
        TypeCase{"Q5_K", 0.6}, TypeCase{"Q6_K", 0.6}, TypeCase{"IQ4_XS", 0.6}),
    [](const ::testing::TestParamInfo<TypeCase>& info) {
      return info.param.type;
    });

TEST(ForwardSynthThreadsTest, OneAndTwoThreadsGiveIdenticalLogits) {
  for (const std::string type : {"Q4_1", "F16"}) {
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2}) {
      auto model = LoadModel(Path(type, ".gguf"), {.n_ctx = 512});
      ASSERT_TRUE(model.ok()) << model.status();
      tensor::ThreadPool pool(threads);
      auto state = RunState::Create(
          **model,
          {.max_batch = 64, .max_logit_rows = 300, .max_threads = threads});
      ASSERT_TRUE(state.ok());
      std::vector<int32_t> ids = {1};
      for (int k = 0; k < 299; ++k)
        ids.push_back(3 + (17 * k * k + 211 * k + 7) % 509);
      ASSERT_TRUE(
          Forward(**model, **state, pool, ids, 0, {.want_all_logits = true})
              .ok());
      const float* data = (*state)->logits.data();
      results.emplace_back(data, data + 300 * 512);
    }
    EXPECT_EQ(results[0], results[1]) << type;
  }
}

}  // namespace
}  // namespace ggufd::model
