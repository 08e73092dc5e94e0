// A hand-off buffer of messages from a worker to one streaming reactor,
// with the same wake-up protocol as GenerationStream (without its merging):
// the producer appends and never waits; a reader that found nothing leaves
// a wake-up, fired once under the lock by the next append.
#ifndef GGUFD_SERVICE_EVENT_QUEUE_H_
#define GGUFD_SERVICE_EVENT_QUEUE_H_

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"

namespace ggufd {

template <typename Message>
class EventQueue {
 public:
  struct Next {
    std::optional<Message> message;
    std::optional<absl::Status> finish;
  };

  void Push(Message message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_ || final_.has_value()) return;
    items_.push_back(std::move(message));
    WakeLocked();
  }

  // The last call: the status the stream ends with. The first call wins.
  void Complete(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (final_.has_value()) return;
    final_ = status;
    WakeLocked();
  }

  Next TakeOrWait(std::function<void()> wake) {
    std::lock_guard<std::mutex> lock(mu_);
    Next next;
    if (!items_.empty()) {
      next.message = std::move(items_.front());
      items_.pop_front();
    } else if (final_.has_value()) {
      next.finish = *final_;
      detached_ = true;
    } else {
      wake_ = std::move(wake);
    }
    return next;
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    detached_ = true;
    wake_ = nullptr;
    items_.clear();
  }

 private:
  void WakeLocked() {
    if (detached_ || !wake_) return;
    std::function<void()> wake = std::move(wake_);
    wake_ = nullptr;
    wake();
  }

  std::mutex mu_;
  std::deque<Message> items_;
  std::optional<absl::Status> final_;
  std::function<void()> wake_;
  bool detached_ = false;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_EVENT_QUEUE_H_
