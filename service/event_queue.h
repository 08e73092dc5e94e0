// The hand-off buffer between a producer that must never wait (a runtime
// worker) and the one reader of a streaming call (a reactor, or the HTTP
// door's waiter). The producer appends; a reader that finds nothing leaves
// a wake-up, which the next append (or the end) fires once, under the
// queue's lock, so a reader that detached is never woken after detaching.
// Messages that piled up while the reader was slow can be merged as they
// are taken (GenerationStream sends the tokens of a slow client as one
// chunk).
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
  // Folds `next`, queued right behind `into`, into it and returns true, or
  // leaves both alone and returns false. Runs under the queue's lock.
  using Merge = bool (*)(Message& into, Message& next);

  // One thing for the reader to do next.
  struct Next {
    std::optional<Message> event;        // write this, or
    std::optional<absl::Status> finish;  // end the call with this
  };

  explicit EventQueue(Merge merge = nullptr) : merge_(merge) {}
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Appends `message`; dropped once the reader is gone or the queue ended.
  void Push(Message message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_ || final_.has_value()) return;
    items_.push_back(std::move(message));
    WakeLocked();
  }

  // The end: the status the reader gets after every message. The first
  // call wins.
  void Complete(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (final_.has_value()) return;
    final_ = status;
    WakeLocked();
  }

  // Whether Complete was called.
  bool completed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return final_.has_value();
  }

  // Takes the next message (with those merged into it) or the final
  // status; when there is neither yet, arms `wake` (called once, on the
  // producing thread, under the lock, when something arrives) and returns
  // an empty Next.
  Next TakeOrWait(std::function<void()> wake) {
    std::lock_guard<std::mutex> lock(mu_);
    Next next;
    if (!items_.empty()) {
      Message& event = next.event.emplace(std::move(items_.front()));
      items_.pop_front();
      while (merge_ != nullptr && !items_.empty() &&
             merge_(event, items_.front())) {
        items_.pop_front();
      }
    } else if (final_.has_value()) {
      next.finish = *final_;
      detached_ = true;
    } else {
      wake_ = std::move(wake);
    }
    return next;
  }

  // The reader is gone: drop further messages and never wake it again.
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

  const Merge merge_;
  mutable std::mutex mu_;
  std::deque<Message> items_;
  std::optional<absl::Status> final_;
  std::function<void()> wake_;  // armed by a waiting reader
  bool detached_ = false;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_EVENT_QUEUE_H_
