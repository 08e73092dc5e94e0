#include "runtime/tensor/thread_pool.h"

#include <atomic>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace ggufd::tensor {
namespace {

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (int n_threads : {1, 2, 3, 8}) {
    ThreadPool pool(n_threads);
    EXPECT_EQ(pool.size(), n_threads);
    for (int64_t n : {0, 1, 2, 5, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.ParallelFor(n, [&](int64_t begin, int64_t end, int thread) {
        EXPECT_GE(thread, 0);
        EXPECT_LT(thread, n_threads);
        EXPECT_LT(begin, end);
        for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(hits[i].load(), 1) << n_threads << " threads, n=" << n;
      }
    }
  }
}

TEST(ThreadPoolTest, SplitIsDeterministicAndContiguous) {
  ThreadPool pool(3);
  auto split = [&pool](int64_t n) {
    std::mutex mu;
    std::set<std::tuple<int64_t, int64_t, int>> chunks;
    pool.ParallelFor(n, [&](int64_t begin, int64_t end, int thread) {
      std::lock_guard<std::mutex> lock(mu);
      chunks.emplace(begin, end, thread);
    });
    return chunks;
  };
  const auto first = split(100);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(split(100), first);
  // One chunk per thread, in thread order.
  ASSERT_EQ(first.size(), 3u);
  int64_t next = 0;
  int thread = 0;
  for (const auto& [begin, end, t] : first) {
    EXPECT_EQ(begin, next);
    EXPECT_EQ(t, thread++);
    next = end;
  }
  EXPECT_EQ(next, 100);
}

TEST(ThreadPoolTest, RunsWorkOnSeveralThreadsAndManyRounds) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  for (int round = 0; round < 20000; ++round) {
    pool.ParallelFor(4, [&](int64_t begin, int64_t end, int) {
      total.fetch_add(end - begin);
    });
  }
  EXPECT_EQ(total.load(), 4 * 20000);
}

TEST(ThreadPoolTest, CallerParticipatesWithIndexZero) {
  ThreadPool pool(2);
  std::atomic<bool> zero_seen{false};
  pool.ParallelFor(2, [&](int64_t, int64_t, int thread) {
    if (thread == 0) zero_seen = true;
  });
  EXPECT_TRUE(zero_seen.load());
}

}  // namespace
}  // namespace ggufd::tensor
