#include "runtime/tensor/thread_pool.h"

#include <atomic>
#include <cassert>
#include <chrono>
#include <thread>
#include <vector>

#include "runtime/tensor/op_profile.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ggufd::tensor {
namespace {

// How long an idle thread polls before it sleeps on a futex: long enough to
// bridge the gap between consecutive matmuls of one forward pass, short
// enough not to burn a core between requests.
constexpr auto kSpinTime = std::chrono::microseconds(200);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Waits until `value` differs from `old` (spinning first, then blocking) and
// returns the new value.
template <typename U>
U WaitWhileEqual(const std::atomic<U>& value, U old) {
  U now = value.load(std::memory_order_acquire);
  if (now != old) return now;
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    CpuRelax();
    now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) break;
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

}  // namespace

struct ThreadPool::State {
  std::vector<std::thread> threads;
  // Bumped once per ParallelFor; workers wake when it changes.
  std::atomic<uint32_t> generation{0};
  // Workers still running the current job.
  std::atomic<int> pending{0};
  bool stop = false;  // read by workers after a generation bump
  // The current job (valid while pending > 0).
  int64_t n = 0;
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;

  void RunChunk(int index, int n_threads) {
    const int64_t begin = n * index / n_threads;
    const int64_t end = n * (index + 1) / n_threads;
    if (begin < end) (*fn)(begin, end, index);
  }
};

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads < 1 ? 1 : n_threads), state_(new State) {
  for (int i = 1; i < n_threads_; ++i) {
    state_->threads.emplace_back([this, i] {
      uint32_t seen = 0;
      for (;;) {
        seen = WaitWhileEqual(state_->generation, seen);
        if (state_->stop) return;
        state_->RunChunk(i, n_threads_);
        if (state_->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          state_->pending.notify_one();
        }
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  state_->stop = true;
  state_->generation.fetch_add(1, std::memory_order_release);
  state_->generation.notify_all();
  for (std::thread& t : state_->threads) t.join();
  delete state_;
}

void ThreadPool::ParallelFor(
    int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n, 0);
    return;
  }
  assert(state_->pending.load() == 0 && "ParallelFor is not reentrant");
  state_->n = n;
  state_->fn = &fn;
  state_->pending.store(n_threads_ - 1, std::memory_order_relaxed);
  state_->generation.fetch_add(1, std::memory_order_release);
  state_->generation.notify_all();
  state_->RunChunk(0, n_threads_);
  // The caller's wait for the other threads (profiled: it is where a
  // descheduled worker or an uneven split shows).
  const OpTimer timer("thread-pool wait (within the ops above)");
  for (int left = state_->pending.load(std::memory_order_acquire); left != 0;
       left = state_->pending.load(std::memory_order_acquire)) {
    WaitWhileEqual(state_->pending, left);
  }
}

}  // namespace ggufd::tensor
