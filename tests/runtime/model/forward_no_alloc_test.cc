// Forward() allocates nothing once the model and run state are loaded: this
// binary replaces the global operator new with a counting one.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/model/forward.h"
#include "runtime/model/model.h"
#include "runtime/model/run_state.h"
#include "runtime/tensor/thread_pool.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// gcc flags free() on memory from (our own) operator new; that pairing is
// exactly what this replacement defines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace ggufd::model {
namespace {

void ExpectNoAllocations(const std::string& path, KvType kv_type) {
  SCOPED_TRACE(path);
  auto model = LoadModel(path, {.n_ctx = 256, .kv_type = kv_type});
  ASSERT_TRUE(model.ok()) << model.status();
  tensor::ThreadPool pool(2);
  auto state = RunState::Create(
      **model, {.max_batch = 16, .max_logit_rows = 40, .max_threads = 2});
  ASSERT_TRUE(state.ok()) << state.status();
  std::vector<int32_t> prompt(40);
  for (int i = 0; i < 40; ++i) prompt[i] = 3 + (i * 37) % 500;
  // Warm up once: the pool and kernels may set themselves up lazily.
  ASSERT_TRUE(Forward(**model, **state, pool, prompt, 0).ok());

  const int64_t before = g_allocations.load();
  absl::Status batched =
      Forward(**model, **state, pool, prompt, 0, {.want_all_logits = true});
  absl::Status decode = Forward(**model, **state, pool,
                                absl::MakeConstSpan(prompt).subspan(0, 1), 40);
  const int64_t after = g_allocations.load();
  ASSERT_TRUE(batched.ok()) << batched;
  ASSERT_TRUE(decode.ok()) << decode;
  EXPECT_EQ(after - before, 0);
}

TEST(ForwardNoAllocTest, StoriesF32WithF16Cache) {
  ExpectNoAllocations(GGUFD_TESTDATA_DIR "/models/stories260K.gguf",
                      KvType::kF16);
}

TEST(ForwardNoAllocTest, SynthQ4_1WithF32Cache) {
  ExpectNoAllocations(GGUFD_TESTDATA_DIR
                      "/models/synth/synth-llama-256-Q4_1.gguf",
                      KvType::kF32);
}

}  // namespace
}  // namespace ggufd::model
