// How unary RPCs finish: with the one rpc line (LogRpc) and the status.
// Those that run on a runtime post one command to the runtime's worker and
// finish the call with what it returns. The handler never waits: the call
// finishes from the worker (Finish does not block) or at once when the
// command is refused.
#ifndef GGUFD_SERVICE_RUNTIME_CALL_H_
#define GGUFD_SERVICE_RUNTIME_CALL_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "runtime/runtime.h"
#include "service/command.h"
#include "service/orca_load_report.h"
#include "service/rpc_log.h"
#include "service/service_state.h"
#include "service/status_mapping.h"

namespace ggufd {

// Finishes `reactor` with `status`, with the call's rpc line and count.
inline void FinishUnary(ServiceState& state, const RpcCall& call,
                        grpc::ServerUnaryReactor* reactor,
                        const absl::Status& status) {
  LogRpc(state, call, status);
  reactor->Finish(ToGrpcStatus(status));
}

// A unary reactor that finishes with `status` right away.
inline grpc::ServerUnaryReactor* FinishNow(ServiceState& state,
                                           grpc::CallbackServerContext* context,
                                           const RpcCall& call,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(state, call, reactor, status);
  return reactor;
}

// The same, for a call that knows only its method.
inline grpc::ServerUnaryReactor* FinishNow(ServiceState& state,
                                           grpc::CallbackServerContext* context,
                                           std::string_view method,
                                           const absl::Status& status) {
  return FinishNow(state, context, RpcCall{.method = std::string(method)},
                   status);
}

// Runs `op(runtime, context)` on the runtime named `runtime_name` and
// finishes the call with its status. `op` fills the response itself. With
// `load_report` (the inference calls), the trailers carry the runtime's
// ORCA load report.
inline grpc::ServerUnaryReactor* RunOnRuntime(
    ServiceState& state, grpc::CallbackServerContext* context,
    std::string_view method, std::string_view runtime_name,
    std::string operation,
    absl::AnyInvocable<absl::Status(Runtime&, const CommandContext&)> op,
    bool load_report = false) {
  RpcCall call{.method = std::string(method)};
  if (absl::Status admit = state.CheckAdmission(); !admit.ok()) {
    return FinishNow(state, context, call, admit);
  }
  auto worker = state.registry->Find(runtime_name);
  if (!worker.ok()) return FinishNow(state, context, call, worker.status());
  call.runtime = (*worker)->name();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ServiceState* s = &state;
  // Runs before each way the call finishes: the context lives until then.
  auto report = [s, context, load_report, name = call.runtime] {
    if (load_report) AddLoadReport(*s, *context, name);
  };
  Command command;
  command.operation = std::move(operation);
  command.deadline = DeadlineOf(*context);
  auto result = std::make_shared<absl::Status>();
  command.run = [result, op = std::move(op)](
                    Runtime& runtime, const CommandContext& ctx) mutable {
    *result = op(runtime, ctx);
  };
  // The reply waits for the snapshot, so a read right after sees the change.
  command.after = [s, call, reactor, result, report] {
    report();
    FinishUnary(*s, call, reactor, *result);
  };
  command.drop = [s, call, reactor, report](const absl::Status& why) {
    report();
    FinishUnary(*s, call, reactor, why);
  };
  if (absl::Status posted = (*worker)->Post(command); !posted.ok()) {
    report();
    FinishUnary(state, call, reactor, posted);
  }
  return reactor;
}

}  // namespace ggufd

#endif  // GGUFD_SERVICE_RUNTIME_CALL_H_
