#include "service/diagnostics_service.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

#include "service/proto_convert.h"
#include "service/reactor_timer.h"
#include "service/rpc_log.h"
#include "service/runtime_call.h"

namespace ggufd {
namespace {

constexpr int32_t kDefaultWatchIntervalMs = 1000;
constexpr int32_t kMinWatchIntervalMs = 50;
constexpr int32_t kMaxWatchIntervalMs = 60000;

// Streams a runtime's status every interval: write, wait for the write,
// sleep on a timer, repeat, until the client cancels, the runtime goes
// away, or the server drains. Exactly one of {write in flight, timer
// pending} exists at any time.
class WatchStatusReactor : public grpc::ServerWriteReactor<v1::RuntimeStatus> {
 public:
  WatchStatusReactor(ServiceState& state, const v1::WatchStatusRequest& request)
      : state_(state), runtime_(request.runtime()) {
    int32_t interval = request.interval_ms();
    if (interval < 0) {
      End(InvalidField("interval_ms", "must be >= 0"));
      return;
    }
    if (interval == 0) interval = kDefaultWatchIntervalMs;
    interval_ = absl::Milliseconds(
        std::clamp(interval, kMinWatchIntervalMs, kMaxWatchIntervalMs));
    state_.AddSleeper(&timer_);
    WriteStatus();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      End(MakeError(ErrorCode::kCancelled, "the stream was cancelled"));
      return;
    }
    timer_.Schedule(absl::Now() + interval_, [this](bool fired) {
      if (!fired && !state_.draining.load()) {
        End(MakeError(ErrorCode::kCancelled, "the stream was cancelled"));
        return;
      }
      WriteStatus();  // ends the stream when draining
    });
    // A cancel or a drain that raced with scheduling: whichever side comes
    // second cancels the timer.
    if (cancelled_.load() || state_.draining.load()) timer_.Cancel();
  }

  void OnCancel() override {
    cancelled_.store(true);
    timer_.Cancel();
  }
  void OnDone() override {
    state_.RemoveSleeper(&timer_);
    delete this;
  }

 private:
  void WriteStatus() {
    if (state_.draining.load()) {
      End(absl::OkStatus());
      return;
    }
    auto worker = state_.registry->Find(runtime_);
    if (!worker.ok()) {
      End(worker.status());
      return;
    }
    rpc_.runtime = (*worker)->name();
    status_.Clear();
    ToRuntimeStatus((*worker)->Snapshot(), status_);
    StartWrite(&status_);
  }

  void End(const absl::Status& status) {
    LogRpc(state_, rpc_, status);
    Finish(ToGrpcStatus(status));
  }

  ServiceState& state_;
  const std::string runtime_;
  RpcCall rpc_{.method = "Diagnostics/WatchStatus"};
  absl::Duration interval_;
  v1::RuntimeStatus status_;
  ReactorTimer timer_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

grpc::ServerUnaryReactor* DiagnosticsService::GetStatus(
    grpc::CallbackServerContext* context, const v1::GetStatusRequest* request,
    v1::RuntimeStatus* response) {
  constexpr char kMethod[] = "Diagnostics/GetStatus";
  auto worker = state_.registry->Find(request->runtime());
  if (!worker.ok()) return FinishNow(state_, context, kMethod, worker.status());
  if (!request->fresh()) {
    ToRuntimeStatus((*worker)->Snapshot(), *response);
    return FinishNow(state_, context,
                     RpcCall{.method = kMethod, .runtime = (*worker)->name()},
                     absl::OkStatus());
  }
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "diagnostics",
      [w = *worker, response](Runtime& runtime,
                              const CommandContext&) -> absl::Status {
        WorkerSnapshot snapshot = w->Snapshot();
        snapshot.diagnostics = runtime.GetDiagnostics();
        ToRuntimeStatus(snapshot, *response);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::RuntimeStatus>* DiagnosticsService::WatchStatus(
    grpc::CallbackServerContext*, const v1::WatchStatusRequest* request) {
  return new WatchStatusReactor(state_, *request);
}

}  // namespace ggufd
