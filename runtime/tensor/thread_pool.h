// A fixed pool of compute threads used inside one runtime operation. The
// calling thread claims work too, so a pool of size 1 starts no thread.
#ifndef GGUFD_RUNTIME_TENSOR_THREAD_POOL_H_
#define GGUFD_RUNTIME_TENSOR_THREAD_POOL_H_

#include <cstdint>
#include <functional>

namespace ggufd::tensor {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n) into min(n, 2 * size()) contiguous, non-empty chunks,
  // shorter towards the end (the boundaries depend only on n and the pool
  // size), and runs fn(begin, end, thread) on each, on whichever thread
  // claims it first; `thread` is the index of the thread running it (0 =
  // the caller), for per-thread scratch. Returns when all chunks are done.
  // Results must not depend on which thread runs which chunk.
  void ParallelFor(int64_t n,
                   const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  struct State;
  int n_threads_;
  State* state_;
};

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_THREAD_POOL_H_
