#include "service/test_hooks_service.h"

#include <stdexcept>

#include "service/runtime_call.h"

namespace ggufd {
namespace {

constexpr char kMethod[] = "TestHooks/InjectFault";
constexpr int32_t kDefaultStallMs = 60000;

}  // namespace

TestHooksService::~TestHooksService() { ResumeAll(); }

void TestHooksService::ResumeAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++resume_generation_;
  }
  resumed_.notify_all();
}

grpc::ServerUnaryReactor* TestHooksService::InjectFault(
    grpc::CallbackServerContext* context, const v1::InjectFaultRequest* request,
    v1::InjectFaultResponse*) {
  switch (request->fault()) {
    case v1::FAULT_POISON_NEXT_GENERATE:
      return RunOnRuntime(state_, context, kMethod, request->runtime(),
                          "inject_failure",
                          [](Runtime& runtime, const CommandContext&) {
                            runtime.InjectFailureForTesting();
                            return absl::OkStatus();
                          });
    case v1::FAULT_KILL_WORKER: {
      // The worker's real crash path: an exception escaping a command.
      // The call answers with the UNAVAILABLE that every request would get.
      return RunOnRuntime(state_, context, kMethod, request->runtime(), "kill",
                          [](Runtime&, const CommandContext&) -> absl::Status {
                            throw std::runtime_error("killed by a test hook");
                          });
    }
    case v1::FAULT_STALL_WORKER: {
      if (absl::Status s = state_.CheckAdmission(); !s.ok()) {
        return FinishNow(state_, context, kMethod, s);
      }
      auto worker = state_.registry->Find(request->runtime());
      if (!worker.ok()) {
        return FinishNow(state_, context, kMethod, worker.status());
      }
      const absl::Duration limit = absl::Milliseconds(
          request->stall_ms() > 0 ? request->stall_ms() : kDefaultStallMs);
      uint64_t generation;
      {
        std::lock_guard<std::mutex> lock(mu_);
        generation = resume_generation_;
      }
      Command command;
      command.operation = "stall";
      command.run = [this, generation, limit](Runtime&, const CommandContext&) {
        std::unique_lock<std::mutex> lock(mu_);
        resumed_.wait_for(lock, absl::ToChronoNanoseconds(limit),
                          [&] { return resume_generation_ != generation; });
      };
      // Answer once queued, so the test can fill the queue behind it.
      return FinishNow(state_, context, kMethod, (*worker)->Post(command));
    }
    case v1::FAULT_RESUME_WORKER: {
      ResumeAll();
      return FinishNow(state_, context, kMethod, absl::OkStatus());
    }
    default:
      return FinishNow(state_, context, kMethod,
                       InvalidField("fault", "unknown fault"));
  }
}

}  // namespace ggufd
