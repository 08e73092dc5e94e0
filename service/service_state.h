// What every gRPC handler shares: the runtimes, the requests in flight,
// the metrics, the model directory, the defaults for loads, the log, and
// whether the server is draining.
#ifndef GGUFD_SERVICE_SERVICE_STATE_H_
#define GGUFD_SERVICE_SERVICE_STATE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/active_requests.h"
#include "service/json_log.h"
#include "service/model_path.h"
#include "service/reactor_timer.h"
#include "service/runtime_registry.h"
#include "service/service_metrics.h"

namespace ggufd {

struct ServiceState {
  RuntimeRegistry* registry = nullptr;
  ActiveRequests* requests = nullptr;
  ServiceMetrics* metrics = nullptr;
  const ModelDirectory* models = nullptr;
  // Where sessions are saved; null without --state-dir.
  const ModelDirectory* state_dir = nullptr;
  JsonLog* log = nullptr;
  // Defaults for LoadModel fields the client leaves unset.
  int32_t context_length = 0;
  int32_t threads = 0;
  SessionLimits sessions;
  // Most tokens one generation may produce (--max-new-tokens); unset and 0
  // ("until the context is full") run to it. 0 = no limit.
  int32_t max_new_tokens = 0;
  int32_t max_prompt_tokens = 0;  // for text and chat prompts (0 = none)
  // Who makes a call: the principal's name, recorded as the owner of the
  // requests it starts ("" without authentication). Set by the server.
  std::function<std::string(const grpc::ServerContextBase&)> caller_name;
  std::atomic<bool> draining{false};

  std::string CallerName(const grpc::ServerContextBase& context) const {
    return caller_name ? caller_name(context) : std::string();
  }

  // SHUTTING_DOWN (UNAVAILABLE + RetryInfo) once the server drains.
  absl::Status CheckAdmission() const;

  // Streams that sleep on a timer between writes (WatchStatus) register it,
  // so a drain wakes them at once instead of after their interval.
  void AddSleeper(ReactorTimer* timer);
  void RemoveSleeper(ReactorTimer* timer);
  // Called once draining is set: every registered timer fires early.
  void WakeSleepers();

 private:
  std::mutex sleepers_mu_;
  absl::flat_hash_set<ReactorTimer*> sleepers_;
};

// The call's deadline as absl::Time (InfiniteFuture when it has none).
absl::Time DeadlineOf(const grpc::CallbackServerContext& context);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_SERVICE_STATE_H_
