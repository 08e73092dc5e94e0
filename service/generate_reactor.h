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
#include "service/generate_call.h"
#include "service/generation_stream.h"
#include "service/reactor_timer.h"
#include "service/service_state.h"

namespace ggufd {

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
