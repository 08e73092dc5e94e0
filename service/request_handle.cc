#include "service/request_handle.h"

#include <utility>

namespace ggufd {

void RequestHandle::SetWorker(std::weak_ptr<RuntimeWorker> worker) {
  std::lock_guard<std::mutex> lock(mu_);
  worker_ = std::move(worker);
}

bool RequestHandle::MarkRunning() {
  if (ended()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  started_ = true;
  return true;
}

bool RequestHandle::started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

RequestHandle::CancelResult RequestHandle::Cancel() {
  cancel_->Cancel();
  if (ended()) return CancelResult::kNotFound;
  std::shared_ptr<RuntimeWorker> worker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker = worker_.lock();
  }
  // The worker decides (outside this lock: a withdrawn command's drop ends
  // the request on this thread).
  using Withdrawal = RuntimeWorker::Withdrawal;
  switch (worker ? worker->Withdraw(*cancel_) : Withdrawal::kNotQueued) {
    case Withdrawal::kDropped:
      return CancelResult::kQueued;
    case Withdrawal::kRunning:
      return CancelResult::kRunning;
    case Withdrawal::kNotQueued:
      break;
  }
  // Not posted yet or taken but not started (the queue's arrival check or
  // the worker's start check drops it, its token being set), or over.
  return started() ? CancelResult::kRunning : CancelResult::kQueued;
}

}  // namespace ggufd
