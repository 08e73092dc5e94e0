// The reactor of one Inference.Generate call. States:
//   admitted  - validated and queued on its runtime's worker (or refused at
//               once, before any header: RESOURCE_EXHAUSTED when full);
//   streaming - one write in flight at a time; between writes the reactor
//               either takes the next event or leaves a wake-up with the
//               stream and returns (no blocking in callbacks);
//   finishing - the stream's final status is sent; OnDone deletes it.
// Exactly one of {a write in flight, a wake-up pending, a pump running}
// holds the right to write or finish, so no lock is needed here.
#ifndef GGUFD_SERVICE_GENERATE_REACTOR_H_
#define GGUFD_SERVICE_GENERATE_REACTOR_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ggufd/v1/inference.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "service/generation_stream.h"
#include "service/reactor_timer.h"
#include "service/service_state.h"

namespace ggufd {

// The transport-free part of one Generate, shared by the gRPC reactor and
// the OpenAI-compatible HTTP door (service/http/), so both follow the same
// rules: admission, validation, the queue, request ids, cancellation.
struct GenerateCall {
  std::shared_ptr<GenerationStream> stream;  // set once queued
  std::string runtime;                       // the runtime's name, once found
};

struct GenerateCallOptions {
  std::string owner;  // the caller's principal ("" without authentication)
  absl::Time deadline = absl::InfiniteFuture();
};

// Validates `request` and queues it on its runtime's worker: `call.stream`
// then carries its events and registers it in ServiceState::requests (the
// caller removes it when the call ends). The error that refuses it
// otherwise (RESOURCE_EXHAUSTED QUEUE_FULL when the queue is full).
absl::Status AdmitGenerate(ServiceState& state,
                           const v1::GenerateRequest& request,
                           const GenerateCallOptions& options,
                           GenerateCall& call);

// The end of one Generate call, whichever door it came through: counts it
// under `method` and writes the "rpc" log line (`extra` adds fields).
void LogGenerateEnd(ServiceState& state, std::string_view method,
                    const GenerateCall& call, const absl::Status& status,
                    absl::Time start, nlohmann::json extra = {});

class GenerateReactor : public grpc::ServerWriteReactor<v1::GenerateEvent> {
 public:
  GenerateReactor(ServiceState& state, grpc::CallbackServerContext* context,
                  const v1::GenerateRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Writes the next event, finishes, or leaves a wake-up behind.
  void Pump();
  void FinishWith(const absl::Status& status);

  ServiceState& state_;
  grpc::CallbackServerContext* const context_;
  std::shared_ptr<GenerationStream> stream_;
  v1::GenerateEvent event_;  // the write in flight
  ReactorTimer wake_;
  absl::Time start_ = absl::Now();
  std::string runtime_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_GENERATE_REACTOR_H_
