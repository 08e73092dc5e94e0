#include "service/command_channel.h"

#include <cassert>
#include <utility>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"

namespace ggufd {

CommandChannel::CommandChannel(size_t capacity) : capacity_(capacity) {}

absl::Status CommandChannel::Push(Command& command) {
  std::vector<Command> dead;
  absl::Status accepted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return MakeError(ErrorCode::kUnavailable, "the runtime is stopped");
    }
    if (waiting_ >= capacity_) PurgeDeadLocked(dead);
    if (waiting_ >= capacity_) {
      accepted = MakeError(ErrorCode::kQueueFull,
                           StrCat("the runtime's queue is full (", capacity_,
                                  " requests waiting)"));
    } else {
      command.enqueued_at = absl::Now();
      queue_.push_back(std::move(command));
      ++waiting_;
    }
  }
  // Their owners hear it outside the lock (drop callbacks may post).
  const absl::Time now = absl::Now();
  for (Command& c : dead) {
    if (c.drop) c.drop(WhyDeadWhileQueued(c, now));
  }
  if (accepted.ok()) ready_.notify_one();
  return accepted;
}

void CommandChannel::PurgeDeadLocked(std::vector<Command>& dead) {
  const absl::Time now = absl::Now();
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
