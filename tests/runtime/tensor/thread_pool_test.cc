#include "runtime/tensor/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
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
    std::set<std::pair<int64_t, int64_t>> chunks;
    pool.ParallelFor(n, [&](int64_t begin, int64_t end, int) {
      std::lock_guard<std::mutex> lock(mu);
      chunks.emplace(begin, end);
    });
    return chunks;
  };
  const auto first = split(100);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(split(100), first);
  // Two chunks per thread, together [0, 100) in order, each shorter than
  // the one before (the last ones decide when an operation ends).
  ASSERT_EQ(first.size(), 6u);
  int64_t next = 0;
  int64_t previous_size = 100;
  for (const auto& [begin, end] : first) {
    EXPECT_EQ(begin, next);
    EXPECT_LT(end - begin, previous_size) << "chunk at " << begin;
    previous_size = end - begin;
    next = end;
  }
  EXPECT_EQ(next, 100);
  EXPECT_LE(previous_size, 5);
  // None is empty, however few the indices.
  for (int64_t n : {5, 6, 7, 13}) {
    const auto chunks = split(n);
    EXPECT_EQ(chunks.size(), static_cast<size_t>(std::min<int64_t>(n, 6)));
    for (const auto& [begin, end] : chunks) EXPECT_LT(begin, end) << n;
  }
}

// A thread stalled inside a chunk (descheduled, say) holds up only that
// chunk: the others take the rest. Here the worker's first chunk waits until
// every other chunk is done, which a split of one chunk per thread would
// never allow.
TEST(ThreadPoolTest, AStalledThreadHoldsUpOnlyItsChunk) {
  ThreadPool pool(2);
  constexpr int64_t kChunks = 4;  // 2 per thread
  std::atomic<int64_t> finished{0};
  std::atomic<bool> worker_stalled{false}, gave_up{false};
  pool.ParallelFor(kChunks, [&](int64_t begin, int64_t end, int thread) {
    if (thread == 0) {
      // Give the worker time to wake and claim a chunk.
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!worker_stalled.load() &&
             std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } else if (!worker_stalled.exchange(true)) {
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (finished.load() < kChunks - 1) {
        if (std::chrono::steady_clock::now() > until) {
          gave_up = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    finished.fetch_add(end - begin);
  });
  EXPECT_EQ(finished.load(), kChunks);
  EXPECT_TRUE(worker_stalled.load());
  EXPECT_FALSE(gave_up.load()) << "the other chunks waited for the stall";
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

// Index 0 is the calling thread and only it, so per-thread scratch indexed
// by `thread` is never shared.
// Back-to-back jobs of different sizes, with more threads than cores so
// that workers are descheduled mid-claim: every job must run each of its
// indices once and only with its own function. (A worker holding a spent
// ticket once read the next job's larger chunk count, ran a phantom chunk
// with that job's function and counted it done twice, and the caller then
// waited forever.)
TEST(ThreadPoolTest, BackToBackJobsOfChangingSizesStayApart) {
  ThreadPool pool(6);
  constexpr int kJobs = 40000;
  std::vector<int> counts(8);
  for (int job = 0; job < kJobs; ++job) {
    const int64_t n = job % 2 == 0 ? 3 : 8;  // 3 chunks, then 8
    std::fill(counts.begin(), counts.end(), 0);
    std::atomic<int> calls{0};
    pool.ParallelFor(n, [&, n](int64_t begin, int64_t end, int) {
      ASSERT_LE(end, n);
      for (int64_t i = begin; i < end; ++i) ++counts[static_cast<size_t>(i)];
      calls.fetch_add(1, std::memory_order_relaxed);
    });
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(counts[static_cast<size_t>(i)], 1) << "job " << job;
    }
    ASSERT_EQ(calls.load(), static_cast<int>(n)) << "job " << job;
  }
}

TEST(ThreadPoolTest, IndexZeroIsTheCaller) {
  ThreadPool pool(3);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> mismatches{0};
  for (int round = 0; round < 2000; ++round) {
    pool.ParallelFor(6, [&](int64_t, int64_t, int thread) {
      if ((thread == 0) != (std::this_thread::get_id() == caller)) {
        mismatches.fetch_add(1);
      }
    });
  }
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace ggufd::tensor
