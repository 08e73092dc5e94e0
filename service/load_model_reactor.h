// The reactor of one Runtime.LoadModel call: the path is confined to the
// model directory before anything is queued; the worker pushes progress
// and finally the model info into an EventQueue, which EventWriteReactor
// writes one event at a time.
#ifndef GGUFD_SERVICE_LOAD_MODEL_REACTOR_H_
#define GGUFD_SERVICE_LOAD_MODEL_REACTOR_H_

#include <memory>

#include "ggufd/v1/runtime.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/event_queue.h"
#include "service/event_write_reactor.h"
#include "service/service_state.h"

namespace ggufd {

// A stream whose client goes away only loses its progress reports: the
// load goes on (a half-done load is no use to anyone).
class LoadModelReactor final : public EventWriteReactor<v1::LoadModelEvent> {
 public:
  LoadModelReactor(ServiceState& state, grpc::CallbackServerContext* context,
                   const v1::LoadModelRequest& request);

 private:
  absl::Status Admit(const v1::LoadModelRequest& request);

  using Queue = EventQueue<v1::LoadModelEvent>;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_LOAD_MODEL_REACTOR_H_
