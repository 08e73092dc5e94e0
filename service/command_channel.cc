#include "service/command_channel.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"

namespace ggufd {

CommandChannel::CommandChannel(size_t capacity) : capacity_(capacity) {}

absl::Status CommandChannel::Push(Command& command) {
  std::vector<Command> dead;
  absl::Status accepted;
  bool queued = false;
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return MakeError(ErrorCode::kUnavailable, "the runtime is stopped");
    }
    if (!WhyDeadWhileQueued(command, now).ok()) {
      // Cancelled between admission and here: its owner found nothing to
      // withdraw, so it ends now rather than behind the queue.
      dead.push_back(std::move(command));
      ++purged_;
    } else {
      if (waiting_ >= capacity_) PurgeDeadLocked(now, dead);
      if (waiting_ >= capacity_) {
        accepted = MakeError(ErrorCode::kQueueFull,
                             StrCat("the runtime's queue is full (", capacity_,
                                    " requests waiting)"));
      } else {
        command.enqueued_at = now;
        queue_.push_back(std::move(command));
        ++waiting_;
        queued = true;
      }
    }
  }
  // Their owners hear it outside the lock (drop callbacks may post).
  for (Command& c : dead) {
    if (c.drop) c.drop(WhyDeadWhileQueued(c, now));
  }
  if (queued) ready_.notify_one();
  return accepted;
}

bool CommandChannel::Withdraw(const CancelToken& token) {
  Command withdrawn;
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Command& c) {
      return c.cancel.get() == &token;
    });
    if (it == queue_.end() || WhyDeadWhileQueued(*it, now).ok()) return false;
    withdrawn = std::move(*it);
    queue_.erase(it);
    --waiting_;
    ++purged_;
  }
  // Outside the lock: the drop ends the request (taking its own locks).
  if (withdrawn.drop) withdrawn.drop(WhyDeadWhileQueued(withdrawn, now));
  return true;
}

void CommandChannel::PurgeDeadLocked(absl::Time now,
                                     std::vector<Command>& dead) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (!WhyDeadWhileQueued(*it, now).ok()) {
      dead.push_back(std::move(*it));
      it = queue_.erase(it);
      --waiting_;
      ++purged_;
    } else {
      ++it;
    }
  }
}

bool CommandChannel::WaitAndDrain(std::vector<Command>& out) {
  assert(out.empty());
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
  if (closed_) {
    for (Command& c : queue_) out.push_back(std::move(c));
    queue_.clear();
    return false;
  }
  out.push_back(std::move(queue_.front()));
  queue_.pop_front();
  return true;
}

uint64_t CommandChannel::purged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return purged_;
}

void CommandChannel::MarkTaken() {
  std::lock_guard<std::mutex> lock(mu_);
  assert(waiting_ > 0);
  --waiting_;
}

void CommandChannel::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
}

size_t CommandChannel::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

absl::Status WhyDeadWhileQueued(const Command& command, absl::Time now) {
  if (command.cancel && command.cancel->cancelled()) {
    return MakeError(ErrorCode::kCancelled, "cancelled while queued");
  }
  if (now >= command.deadline) {
    return MakeError(ErrorCode::kDeadlineExceeded,
                     "the deadline passed while queued");
  }
  return absl::OkStatus();
}

}  // namespace ggufd
