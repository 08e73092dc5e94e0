// The reactor of one Runtime.LoadModel call: the path is confined to the
// model directory before anything is queued; the worker pushes progress
// and finally the model info; the reactor writes them one at a time (the
// same hand-off as GenerateReactor).
#ifndef GGUFD_SERVICE_LOAD_MODEL_REACTOR_H_
#define GGUFD_SERVICE_LOAD_MODEL_REACTOR_H_

#include <memory>
#include <string>

#include "ggufd/v1/runtime.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/event_queue.h"
#include "service/reactor_timer.h"
#include "service/service_state.h"

namespace ggufd {

class LoadModelReactor : public grpc::ServerWriteReactor<v1::LoadModelEvent> {
 public:
  LoadModelReactor(ServiceState& state, grpc::CallbackServerContext* context,
                   const v1::LoadModelRequest& request);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  absl::Status Admit(const v1::LoadModelRequest& request);
  void Pump();
  void FinishWith(const absl::Status& status);

  using Queue = EventQueue<v1::LoadModelEvent>;
  ServiceState& state_;
  grpc::CallbackServerContext* const context_;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  v1::LoadModelEvent event_;
  ReactorTimer wake_;
  std::string runtime_;
  std::string path_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_LOAD_MODEL_REACTOR_H_
