// A flag one thread sets and the runtime polls between tokens and between
// prefill chunks. Shared by the request's owner (gRPC handler, CLI signal
// handler) and the worker that runs the operation.
#ifndef GGUFD_RUNTIME_CANCEL_TOKEN_H_
#define GGUFD_RUNTIME_CANCEL_TOKEN_H_

#include <atomic>

namespace ggufd {

class CancelToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_CANCEL_TOKEN_H_
