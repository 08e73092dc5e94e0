// Sampling a token must not allocate: everything is sized when the Sampler
// is created. This binary replaces the global operator new to count.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/sampling/sampler.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC pairs the inlined free() below with the library's new expressions and
// warns of a mismatch; the replacement operators are consistent.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace ggufd::sampling {
namespace {

std::vector<int>* g_sink = nullptr;

// The counter itself works (so a zero below means something).
TEST(SamplerAllocationTest, CounterSeesAllocations) {
  const long before = g_allocations.load();
  g_sink = new std::vector<int>(100);
  EXPECT_GE(g_allocations.load() - before, 2);
  delete g_sink;
}

TEST(SamplerAllocationTest, SampleDoesNotAllocate) {
  const int32_t vocab = 5000;
  std::vector<float> logits(vocab);
  for (int32_t i = 0; i < vocab; ++i) {
    logits[i] = std::sin(static_cast<float>(i) * 0.37f) * 4.0f;
  }
  const SamplingParams configs[] = {
      // Every step in the chain.
      {.typical_p = 0.9f,
       .min_keep = 2,
       .repeat_penalty = 1.1f,
       .presence_penalty = 0.2f,
       .frequency_penalty = 0.1f,
       .seed = 3,
       .logit_bias = {{5, -INFINITY}, {7, 2.0f}},
       .top_logprobs = 20},
      // No top-k, so top-p and typical see the whole vocabulary.
      {.top_k = 0, .typical_p = 0.95f, .seed = 4},
      {.temperature = 0.0f, .seed = 5},
  };
  for (const SamplingParams& params : configs) {
    absl::StatusOr<Sampler> sampler = Sampler::Create(params, vocab);
    ASSERT_TRUE(sampler.ok()) << sampler.status();
    ASSERT_TRUE(sampler->AcceptPrompt(std::vector<TokenId>{1, 2, 3}).ok());
    TokenLogprobs logprobs;
    const long before = g_allocations.load();
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<TokenId> token = sampler->Sample(logits, &logprobs);
      ASSERT_TRUE(token.ok());
      ASSERT_TRUE(sampler->Accept(*token).ok());
    }
    EXPECT_EQ(g_allocations.load() - before, 0);
  }
}

}  // namespace
}  // namespace ggufd::sampling
