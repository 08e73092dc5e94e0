#include "service/service_state.h"

#include "runtime/error_code.h"

namespace ggufd {

absl::Status ServiceState::CheckAdmission() const {
  if (draining.load(std::memory_order_acquire)) {
    return MakeError(ErrorCode::kShuttingDown,
                     "the server is shutting down; retry on another replica");
  }
  return absl::OkStatus();
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

void ServiceState::AddSleeper(ReactorTimer* timer) {
  std::lock_guard<std::mutex> lock(sleepers_mu_);
  sleepers_.insert(timer);
}

void ServiceState::RemoveSleeper(ReactorTimer* timer) {
  std::lock_guard<std::mutex> lock(sleepers_mu_);
  sleepers_.erase(timer);
}

void ServiceState::WakeSleepers() {
  std::lock_guard<std::mutex> lock(sleepers_mu_);
  for (ReactorTimer* timer : sleepers_) timer->Cancel();
}

}  // namespace ggufd
