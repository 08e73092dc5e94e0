// What every gRPC handler shares: the runtimes, the requests in flight,
// the metrics, the model directory, the defaults for loads, the log, and
// whether the server is draining.
#ifndef GGUFD_SERVICE_SERVICE_STATE_H_
#define GGUFD_SERVICE_SERVICE_STATE_H_

#include <atomic>
#include <chrono>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/active_requests.h"
#include "service/json_log.h"
#include "service/model_path.h"
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
  std::atomic<bool> draining{false};

  // SHUTTING_DOWN (UNAVAILABLE + RetryInfo) once the server drains.
  absl::Status CheckAdmission() const;
};

// The call's deadline as absl::Time (InfiniteFuture when it has none).
absl::Time DeadlineOf(const grpc::CallbackServerContext& context);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_SERVICE_STATE_H_
