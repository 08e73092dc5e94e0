// Decoding over a cache longer than the point where attention splits each KV
// head's rows and columns among threads (attention.cc, kSplitDecodeRows):
// the logits of every step must be bit-identical for 1, 2 and 3 threads,
// with grouped queries as SmolLM2 (3 per KV head) and Qwen2.5 (7) have them.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "runtime/model/run_state.h"
#include "runtime/tensor/thread_pool.h"
#include "tests/runtime/model/random_arch_model.h"

namespace ggufd::model {
namespace {

constexpr int kPrompt = 700;
constexpr int kSteps = 24;

struct Case {
  const char* name;
  uint64_t n_head;
  uint64_t n_head_kv;
};

// Greedy steps after a kPrompt-token prompt (prefilled on one thread, so
// only the decoding differs); every step's logits, concatenated.
std::vector<float> DecodeLogits(const std::string& path, int threads) {
  auto model = LoadModel(path, {.n_ctx = 1024, .kv_type = KvType::kF16});
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  auto state = RunState::Create(
      **model, {.max_batch = 128, .max_logit_rows = 1, .max_threads = 3});
  EXPECT_TRUE(state.ok());
  if (!state.ok()) return {};
  std::vector<int32_t> prompt;
  for (int k = 0; k < kPrompt; ++k) prompt.push_back(3 + (37 * k + 11) % 400);
  tensor::ThreadPool one(1);
  for (int at = 0; at < kPrompt; at += 128) {
    const int n = std::min(128, kPrompt - at);
    EXPECT_TRUE(
        Forward(**model, **state, one, {&prompt[at], size_t(n)}, at).ok());
  }
  tensor::ThreadPool pool(threads);
  std::vector<float> all;
  int32_t next = 5;
  for (int step = 0; step < kSteps; ++step) {
    EXPECT_TRUE(
        Forward(**model, **state, pool, {&next, 1}, kPrompt + step).ok());
    auto logits = (*state)->logits_row(0);
    all.insert(all.end(), logits.begin(), logits.end());
    next = 3 + (next * 7 + step) % 400;
  }
  return all;
}

TEST(AttentionThreadsTest, LongCacheDecodingDoesNotDependOnThreadCount) {
  for (const Case& c : {Case{"group3", 6, 2}, Case{"group7", 7, 1}}) {
    const std::string path =
        ::testing::TempDir() + "/attention_threads_" + c.name + ".gguf";
    ASSERT_TRUE(testing::WriteRandomArchModel({.arch = "llama",
                                               .n_embd = c.n_head * 64,
                                               .n_head = c.n_head,
                                               .n_head_kv = c.n_head_kv,
                                               .context_length = 1024},
                                              std::string(GGUFD_TESTDATA_DIR) +
                                                  "/models/stories260K.gguf",
                                              path)
                    .ok());
    const std::vector<float> one = DecodeLogits(path, 1);
    ASSERT_FALSE(one.empty());
    for (int threads : {2, 3}) {
      EXPECT_EQ(one, DecodeLogits(path, threads))
          << c.name << ", " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace ggufd::model
