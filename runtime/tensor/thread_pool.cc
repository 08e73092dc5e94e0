#include "runtime/tensor/thread_pool.h"

#include <algorithm>
#include <atomic>
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

// Chunks per thread: a thread that is descheduled (more runnable threads
// than cores: other processes, a CPU quota) holds up an operation by at most
// the chunk it is inside, while the others take the rest; with one chunk per
// thread every operation waited for the slowest thread's whole share.
// Measured on SmolLM2 Q4_1, 2 threads on 2 cores with two busy loops beside:
// decode 168 tok/s with a fixed split, 250 with 2 chunks per thread, 260
// with 4; on a quiet machine 4 cost 9% (each claim and each finish touches
// a shared cache line, ~100 k operations a second), 2 nothing measurable.
constexpr int64_t kChunksPerThread = 2;

// Where chunk c of `total` over [0, n) starts. Every chunk holds one index,
// and the n - total others go to the chunks in shares that fall linearly
// (chunk c's start: (n - total) * (1 - ((total - c) / total)^2) after its c
// single indices). The chunks claimed last, the ones an operation's end
// waits on, are the shortest: with 2 threads the last of 4 chunks is 6% of
// the operation, not 25%, so a thread that runs slower (memory contention,
// a stray interrupt) delays the end by less.
int64_t ChunkStart(int64_t n, int64_t c, int64_t total) {
  const int64_t shared = n - total;
  const int64_t left = total - c;
  return c + shared - shared * left * left / (total * total);
}

}  // namespace

struct ThreadPool::State {
  using Fn = std::function<void(int64_t, int64_t, int)>;
  std::vector<std::thread> threads;
  // The current job's number: bumped once per ParallelFor; workers wake
  // when it changes. The counters every claim writes sit on cache lines of
  // their own, away from what spinning workers read.
  alignas(64) std::atomic<uint32_t> generation{0};
  // (job << 32) | next unclaimed chunk. A claim is a compare-exchange that
  // also checks the job, so a thread that wakes late can never take a chunk
  // of a newer job with an older job's function.
  alignas(64) std::atomic<uint64_t> ticket{0};
  // Chunks of the current job that have finished.
  alignas(64) std::atomic<int64_t> done{0};
  alignas(64) std::atomic<bool> stop{false};
  // (job << 32) | its chunk count. Tagged with the job because the next
  // job's count is stored before its ticket: a thread holding the old
  // job's spent ticket, (job, total), could otherwise read the new, larger
  // count, claim chunk `total` of a finished job, run it with the new job's
  // function and count it done twice (the caller then waited forever).
  std::atomic<uint64_t> job_chunks{0};
  // The current job, published before its ticket (release) and read after
  // a claim of it, which keeps it alive until that chunk is done.
  std::atomic<int64_t> n{0};
  std::atomic<const Fn*> fn{nullptr};

  // Claims and runs chunks of `job` until none is left.
  void Work(uint32_t job, int thread) {
    uint64_t t = ticket.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t jc = job_chunks.load(std::memory_order_acquire);
      const auto total = static_cast<int64_t>(jc & 0xffffffffu);
      const auto c = static_cast<int64_t>(t & 0xffffffffu);
      if (static_cast<uint32_t>(t >> 32) != job ||
          static_cast<uint32_t>(jc >> 32) != job || c >= total) {
        return;
      }
      if (!ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
        continue;
      }
      const int64_t size = n.load(std::memory_order_relaxed);
      (*fn.load(std::memory_order_relaxed))(
          ChunkStart(size, c, total), ChunkStart(size, c + 1, total), thread);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == total) {
        done.notify_one();
      }
      t = ticket.load(std::memory_order_acquire);
    }
  }
};

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads < 1 ? 1 : n_threads), state_(new State) {
  for (int i = 1; i < n_threads_; ++i) {
    state_->threads.emplace_back([this, i] {
      uint32_t seen = 0;
      for (;;) {
        seen = WaitWhileEqual(state_->generation, seen);
        if (state_->stop.load(std::memory_order_acquire)) return;
        state_->Work(seen, i);
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  state_->stop.store(true, std::memory_order_release);
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
  State& s = *state_;
  const int64_t total = std::min<int64_t>(n, n_threads_ * kChunksPerThread);
  const uint32_t job = s.generation.load(std::memory_order_relaxed) + 1;
  s.n.store(n, std::memory_order_relaxed);
  s.job_chunks.store((uint64_t{job} << 32) | static_cast<uint64_t>(total),
                     std::memory_order_relaxed);
  s.fn.store(&fn, std::memory_order_relaxed);
  s.done.store(0, std::memory_order_relaxed);
  s.ticket.store(uint64_t{job} << 32, std::memory_order_release);
  s.generation.store(job, std::memory_order_release);
  s.generation.notify_all();
  s.Work(job, 0);
  // The caller's wait for chunks other threads still run (profiled: it is
  // where a descheduled worker or an uneven split shows).
  const OpTimer timer("thread-pool wait (within the ops above)");
  for (int64_t finished = s.done.load(std::memory_order_acquire);
       finished != total;) {
    finished = WaitWhileEqual(s.done, finished);
  }
}

}  // namespace ggufd::tensor
