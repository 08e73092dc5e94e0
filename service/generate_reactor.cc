#include "service/generate_reactor.h"

#include <optional>
#include <utility>

#include "runtime/error_code.h"
#include "service/generate_call.h"
#include "service/orca_load_report.h"

namespace ggufd {

GenerateReactor::GenerateReactor(ServiceState& state,
                                 grpc::CallbackServerContext* context,
                                 const v1::GenerateRequest& request)
    : EventWriteReactor(state, context, "Inference/Generate") {
  GenerateCall call;
  absl::Status admitted = AdmitGenerate(
      state, request,
      {.owner = state.CallerName(*context), .deadline = DeadlineOf(*context)},
      call);
  stream_ = std::move(call.stream);
  rpc().runtime = std::move(call.runtime);
  if (stream_) rpc().request_id = stream_->request_id();
  if (!admitted.ok()) {
    FinishWith(admitted);
    return;
  }
  Stream(stream_);
}

void GenerateReactor::OnCancel() {
  if (stream_) stream_->Cancel();
}

absl::Status GenerateReactor::Ending(const absl::Status& status) {
  // A deadline usually arrives as the client's RST_STREAM, which looks like
  // any cancel (and may fail a write before OnCancel runs), a little before
  // the server's copy of the deadline: that one counts from when the headers
  // arrived, and grpc-timeout rounds up. A cancel that ends the call within
  // 100 ms of its deadline is taken to be the deadline.
  absl::Status ending = status;
  if (GetErrorCode(status) == ErrorCode::kCancelled &&
      absl::Now() + absl::Milliseconds(100) >= DeadlineOf(context())) {
    ending = MakeError(ErrorCode::kDeadlineExceeded,
                       stream_ && stream_->started()
                           ? "the deadline passed during the generation"
                           : "the deadline passed while queued");
  }
  if (!rpc().runtime.empty()) {
    // Refusals carry one too: a full queue is news for the balancer.
    const std::optional<Usage> usage =
        stream_ ? stream_->usage() : std::nullopt;
    AddLoadReport(state(), context(), rpc().runtime,
                  usage.has_value() ? &*usage : nullptr);
  }
  return ending;
}

void GenerateReactor::Done() {
  if (stream_) state().requests->Remove(*stream_);
}

}  // namespace ggufd
