// The writing half of a server-streaming RPC whose events a runtime worker
// produces (Inference.Generate, Runtime.LoadModel). States:
//   admitted  - the call's own reactor validated and queued it, or finishes
//               at once (before any header: the client may retry safely);
//   streaming - one write in flight at a time; between writes the reactor
//               takes the next event or leaves a wake-up with its source
//               and returns (no blocking in callbacks); the wake-up fires on
//               the producing thread and hops to a gRPC thread
//               (ReactorTimer) before writing;
//   finishing - the final status goes out with the call's "rpc" line;
//               OnDone deletes the reactor.
// Exactly one of {a write in flight, a wake-up pending, a pump running}
// holds the right to write or finish, so no lock is needed here.
//
// `Source` is what the worker fills: an EventQueue<Message>, or a type with
// the same TakeOrWait and Detach (GenerationStream).
#ifndef GGUFD_SERVICE_EVENT_WRITE_REACTOR_H_
#define GGUFD_SERVICE_EVENT_WRITE_REACTOR_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "runtime/error_code.h"
#include "service/event_queue.h"
#include "service/reactor_timer.h"
#include "service/rpc_log.h"
#include "service/service_state.h"
#include "service/status_mapping.h"

namespace ggufd {

template <typename Message, typename Source = EventQueue<Message>>
class EventWriteReactor : public grpc::ServerWriteReactor<Message> {
 public:
  void OnWriteDone(bool ok) final {
    if (!ok) {
      // The client is gone (or the call was cancelled): nobody reads
      // further; what the worker does is the source's business.
      source_->Detach();
      FinishWith(MakeError(ErrorCode::kCancelled, "the stream was cancelled"));
      return;
    }
    Pump();
  }

  void OnDone() final {
    Done();
    delete this;
  }

 protected:
  EventWriteReactor(ServiceState& state, grpc::CallbackServerContext* context,
                    std::string method)
      : state_(state), context_(*context) {
    rpc_.method = std::move(method);
  }

  // Writes what `source` yields, once the call is admitted.
  void Stream(std::shared_ptr<Source> source) {
    source_ = std::move(source);
    Pump();
  }

  // Ends the call with `status` as Ending makes it, logging its rpc line.
  void FinishWith(const absl::Status& status) {
    const absl::Status ending = Ending(status);
    LogRpc(state_, rpc_, ending);
    this->Finish(ToGrpcStatus(ending));
  }

  // The call's own part of the end, on the thread that finishes: the
  // status to send for `status`, and trailers to add. Default: as is.
  virtual absl::Status Ending(const absl::Status& status) { return status; }
  // After the call is over, just before the reactor is deleted.
  virtual void Done() {}

  ServiceState& state() { return state_; }
  grpc::CallbackServerContext& context() { return context_; }
  // The rpc line's fields: the reactor adds the runtime, request id and
  // its own fields as it learns them.
  RpcCall& rpc() { return rpc_; }

 private:
  // Writes the next event, finishes, or leaves a wake-up behind.
  void Pump() {
    typename Source::Next next = source_->TakeOrWait([this] {
      wake_.Schedule(absl::InfinitePast(), [this](bool) { Pump(); });
    });
    if (next.event.has_value()) {
      event_ = std::move(*next.event);
      this->StartWrite(&event_);
    } else if (next.finish.has_value()) {
      FinishWith(*next.finish);
    }
  }

  ServiceState& state_;
  grpc::CallbackServerContext& context_;
  RpcCall rpc_;
  std::shared_ptr<Source> source_;
  Message event_;  // the write in flight
  ReactorTimer wake_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_EVENT_WRITE_REACTOR_H_
