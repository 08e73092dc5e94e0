// The reactor of one Inference.Generate call: admission and the queue go
// through AdmitGenerate (shared with the HTTP door), the writing through
// EventWriteReactor; its own are the client's cancel, the deadline read
// into a cancel, and the ORCA load report in the trailers.
#ifndef GGUFD_SERVICE_GENERATE_REACTOR_H_
#define GGUFD_SERVICE_GENERATE_REACTOR_H_

#include <memory>

#include "absl/status/status.h"
#include "ggufd/v1/inference.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/event_write_reactor.h"
#include "service/generation_stream.h"
#include "service/service_state.h"

namespace ggufd {

class GenerateReactor final
    : public EventWriteReactor<v1::GenerateEvent, GenerationStream> {
 public:
  GenerateReactor(ServiceState& state, grpc::CallbackServerContext* context,
                  const v1::GenerateRequest& request);

  // Client cancel, disconnect or deadline: the runtime stops within one
  // token; a request still queued ends at once.
  void OnCancel() override;

 private:
  absl::Status Ending(const absl::Status& status) override;
  void Done() override;

  std::shared_ptr<GenerationStream> stream_;  // once admitted
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_GENERATE_REACTOR_H_
