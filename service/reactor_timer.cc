#include "service/reactor_timer.h"

#include <chrono>
#include <utility>

namespace ggufd {

void ReactorTimer::Schedule(absl::Time when, std::function<void(bool)> fn) {
  auto next = std::make_unique<grpc::Alarm>();
  const auto deadline = when == absl::InfinitePast()
                            ? std::chrono::system_clock::now()
                            : absl::ToChronoTime(when);
  std::unique_ptr<grpc::Alarm> fired;
  std::lock_guard<std::mutex> lock(mu_);
  next->Set(deadline, std::move(fn));
  fired = std::move(alarm_);
  alarm_ = std::move(next);
  // `fired` is destroyed here, after it fired; its callback (if still
  // returning) keeps the alarm's internals alive by its own reference.
}

void ReactorTimer::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (alarm_) alarm_->Cancel();
}

}  // namespace ggufd
