// The forward pass on stories260K (real trained weights): greedy decoding
// from BOS reproduces the 200 golden ids (computed by an independent float64
// implementation and matching llama2.c's published text), one token at a
// time and with a batched prefill, with identical logits on 1 and 2 threads.
#include <algorithm>
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

constexpr char kModel[] = GGUFD_TESTDATA_DIR "/models/stories260K.gguf";
constexpr char kGolden[] = GGUFD_TESTDATA_DIR "/models/stories260K.greedy.json";

std::vector<int32_t> GoldenIds() {
  std::ifstream in(kGolden);
  const nlohmann::json golden = nlohmann::json::parse(in);
  return golden["generated_ids"].get<std::vector<int32_t>>();
}

int32_t Argmax(absl::Span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                              logits.begin());
}

struct Runner {
  explicit Runner(KvType kv_type, int threads, int max_batch = 512)
      : pool(threads) {
    auto loaded = LoadModel(kModel, {.n_ctx = 256, .kv_type = kv_type});
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    model = std::move(*loaded);
    auto created = RunState::Create(
        *model, {.max_batch = max_batch, .max_threads = threads});
    EXPECT_TRUE(created.ok()) << created.status();
    state = std::move(*created);
  }

  // Feeds `prompt` (one batch), then decodes greedily until `n_out` ids
  // were predicted (the prompt's own next-token predictions count for the
  // last prompt position only). Returns ids for positions
  // prompt.size()-1 .. and records every step's logits.
  std::vector<int32_t> Greedy(const std::vector<int32_t>& prompt, int n_out) {
    std::vector<int32_t> out;
    EXPECT_TRUE(Forward(*model, *state, pool, prompt, 0).ok());
    int64_t pos = static_cast<int64_t>(prompt.size());
    while (static_cast<int>(out.size()) < n_out) {
      auto logits = state->logits_row(0);
      all_logits.insert(all_logits.end(), logits.begin(), logits.end());
      out.push_back(Argmax(logits));
      if (static_cast<int>(out.size()) == n_out) break;
      const int32_t next = out.back();
      EXPECT_TRUE(Forward(*model, *state, pool, {&next, 1}, pos).ok());
      ++pos;
    }
    return out;
  }

  tensor::ThreadPool pool;
  std::unique_ptr<Model> model;
  std::unique_ptr<RunState> state;
  std::vector<float> all_logits;
};

TEST(ForwardStoriesTest, TokenByTokenMatchesAll200GoldenIds) {
  const std::vector<int32_t> golden = GoldenIds();
  ASSERT_EQ(golden.size(), 200u);
  Runner runner(KvType::kF32, 1);
  EXPECT_EQ(runner.Greedy({1}, 200), golden);
}

TEST(ForwardStoriesTest, FirstStepLogitsMatchFloat64Reference) {
  Runner runner(KvType::kF32, 1);
  ASSERT_TRUE(Forward(*runner.model, *runner.state, runner.pool,
                      std::vector<int32_t>{1}, 0)
                  .ok());
  auto logits = runner.state->logits_row(0);
  EXPECT_NEAR(logits[403], 17.02352, 1e-4);
  EXPECT_NEAR(logits[385], 15.40621, 1e-4);
  EXPECT_NEAR(logits[410], 13.10826, 1e-4);
}

TEST(ForwardStoriesTest, BatchedPrefillThenDecodeMatchesGolden) {
  const std::vector<int32_t> golden = GoldenIds();
  // Prompt: BOS and the first 100 golden ids; the prediction at its last
  // position is golden[100].
  std::vector<int32_t> prompt = {1};
  prompt.insert(prompt.end(), golden.begin(), golden.begin() + 100);
  for (int max_batch : {512, 7}) {
    Runner runner(KvType::kF32, 1, max_batch);
    const std::vector<int32_t> ids = runner.Greedy(prompt, 100);
    EXPECT_EQ(ids, std::vector<int32_t>(golden.begin() + 100, golden.end()))
        << "max_batch " << max_batch;
  }
}

TEST(ForwardStoriesTest, F16CacheKeepsTheConfidentPrefix) {
  // Golden margins are >= 0.05 for the first 114 ids; an F16 cache changes
  // logits by ~0.005.
  const std::vector<int32_t> golden = GoldenIds();
  Runner runner(KvType::kF16, 1);
  const std::vector<int32_t> ids = runner.Greedy({1}, 110);
  EXPECT_EQ(ids, std::vector<int32_t>(golden.begin(), golden.begin() + 110));
}

TEST(ForwardStoriesTest, LogitsDoNotDependOnThreadCount) {
  const std::vector<int32_t> golden = GoldenIds();
  std::vector<int32_t> prompt = {1};
  prompt.insert(prompt.end(), golden.begin(), golden.begin() + 50);
  for (KvType kv : {KvType::kF32, KvType::kF16}) {
    Runner one(kv, 1);
    Runner two(kv, 2);
    EXPECT_EQ(one.Greedy(prompt, 30), two.Greedy(prompt, 30));
    EXPECT_EQ(one.all_logits, two.all_logits);  // bit-identical
  }
}

TEST(ForwardStoriesTest, AllLogitsOfABatchEqualTheIncrementalOnes) {
  const std::vector<int32_t> golden = GoldenIds();
  std::vector<int32_t> prompt = {1};
  prompt.insert(prompt.end(), golden.begin(), golden.begin() + 40);
  tensor::ThreadPool pool(1);
  auto model = LoadModel(kModel, {.n_ctx = 256, .kv_type = KvType::kF32});
  ASSERT_TRUE(model.ok());
  auto batch =
      RunState::Create(**model, {.max_batch = 16, .max_logit_rows = 64});
  auto single = RunState::Create(**model, {.max_batch = 1});
  ASSERT_TRUE(batch.ok() && single.ok());
  ASSERT_TRUE(
      Forward(**model, **batch, pool, prompt, 0, {.want_all_logits = true})
          .ok());
  ASSERT_EQ((*batch)->n_logit_rows, static_cast<int>(prompt.size()));
  for (size_t t = 0; t < prompt.size(); ++t) {
    ASSERT_TRUE(Forward(**model, **single, pool, {&prompt[t], 1},
                        static_cast<int64_t>(t))
                    .ok());
    auto a = (*batch)->logits_row(static_cast<int>(t));
    auto b = (*single)->logits_row(0);
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_NEAR(a[i], b[i], 1e-4) << "position " << t << " id " << i;
    }
  }
}

TEST(ForwardStoriesTest, RefusesContextOverflowAndBadInput) {
  Runner runner(KvType::kF32, 1);
  std::vector<int32_t> tokens(257, 1);
  absl::Status s =
      Forward(*runner.model, *runner.state, runner.pool, tokens, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  tokens.resize(256);
  EXPECT_TRUE(
      Forward(*runner.model, *runner.state, runner.pool, tokens, 0).ok());
  const int32_t one = 1;
  s = Forward(*runner.model, *runner.state, runner.pool, {&one, 1}, 256);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  const int32_t bad = 512;
  s = Forward(*runner.model, *runner.state, runner.pool, {&bad, 1}, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  runner.state->Reset();
  s = Forward(*runner.model, *runner.state, runner.pool, {&one, 1}, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;  // gap
  s = Forward(*runner.model, *runner.state, runner.pool, tokens, 0,
              {.want_all_logits = true});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  tensor::ThreadPool big(2);
  s = Forward(*runner.model, *runner.state, big, {&one, 1}, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST(ForwardStoriesTest, CancellationStopsBetweenChunksAndProgressReports) {
  Runner runner(KvType::kF32, 1, /*max_batch=*/10);
  std::vector<int32_t> tokens(35, 300);
  std::vector<int64_t> reported;
  int checks = 0;
  absl::Status s = Forward(*runner.model, *runner.state, runner.pool, tokens, 0,
                           {.cancelled = [&] { return ++checks > 2; },
                            .progress =
                                [&](int64_t done, int64_t total) {
                                  EXPECT_EQ(total, 35);
                                  reported.push_back(done);
                                }});
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(reported, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(runner.state->kv.size(), 20);
  // Resuming from the kept prefix finishes the prompt.
  reported.clear();
  ASSERT_TRUE(Forward(*runner.model, *runner.state, runner.pool,
                      absl::MakeConstSpan(tokens).subspan(20), 20,
                      {.progress = [&](int64_t done,
                                       int64_t) { reported.push_back(done); }})
                  .ok());
  EXPECT_EQ(reported, (std::vector<int64_t>{10, 15}));
  EXPECT_EQ(runner.state->kv.size(), 35);
}

}  // namespace
}  // namespace ggufd::model
