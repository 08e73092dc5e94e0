#include "service/command_channel.h"

#include <cassert>
#include <utility>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"

namespace ggufd {

CommandChannel::CommandChannel(size_t capacity) : capacity_(capacity) {}

absl::Status CommandChannel::Push(Command& command) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return MakeError(ErrorCode::kUnavailable, "the runtime is stopped");
    }
    if (waiting_ >= capacity_) {
      return MakeError(ErrorCode::kQueueFull,
                       StrCat("the runtime's queue is full (", capacity_,
                              " requests waiting)"));
    }
    command.enqueued_at = absl::Now();
    queue_.push_back(std::move(command));
    ++waiting_;
  }
  ready_.notify_one();
  return absl::OkStatus();
}

bool CommandChannel::WaitAndDrain(std::vector<Command>& out) {
  assert(out.empty());
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
  out.swap(queue_);
  return !closed_;
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

}  // namespace ggufd
