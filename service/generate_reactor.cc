#include "service/generate_reactor.h"

#include <optional>
#include <utility>

#include "runtime/error_code.h"
#include "service/orca_load_report.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

constexpr char kMethod[] = "Inference/Generate";

}  // namespace

GenerateReactor::GenerateReactor(ServiceState& state,
                                 grpc::CallbackServerContext* context,
                                 const v1::GenerateRequest& request)
    : state_(state), context_(context) {
  GenerateCall call;
  absl::Status admitted = AdmitGenerate(state_, request,
                                        {.owner = state_.CallerName(*context_),
                                         .deadline = DeadlineOf(*context_)},
                                        call);
  stream_ = std::move(call.stream);
  runtime_ = std::move(call.runtime);
  if (!admitted.ok()) {
    // Nothing was sent yet: the client sees a trailers-only response and may
    // retry safely.
    FinishWith(admitted);
    return;
  }
  Pump();
}

void GenerateReactor::Pump() {
  GenerationStream::Next next = stream_->TakeOrWait([this] {
    wake_.Schedule(absl::InfinitePast(), [this](bool) { Pump(); });
  });
  if (next.event.has_value()) {
    event_ = std::move(*next.event);
    StartWrite(&event_);
  } else if (next.finish.has_value()) {
    FinishWith(*next.finish);
  }
}

void GenerateReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The client is gone (or the call was cancelled): nobody reads further.
    stream_->Detach();
    FinishWith(MakeError(ErrorCode::kCancelled, "the stream was cancelled"));
    return;
  }
  Pump();
}

void GenerateReactor::OnCancel() {
  // Client cancel, disconnect or deadline: the runtime stops within one
  // token; a request still queued ends at once.
  if (stream_) stream_->Cancel();
}

void GenerateReactor::FinishWith(const absl::Status& raw) {
  // A deadline usually arrives as the client's RST_STREAM, which looks like
  // any cancel (and may fail a write before OnCancel runs), a little before
  // the server's copy of the deadline: that one counts from when the headers
  // arrived, and grpc-timeout rounds up. A cancel that ends the call within
  // 100 ms of its deadline is taken to be the deadline.
  absl::Status status = raw;
  if (GetErrorCode(raw) == ErrorCode::kCancelled &&
      absl::Now() + absl::Milliseconds(100) >= DeadlineOf(*context_)) {
    status = MakeError(ErrorCode::kDeadlineExceeded,
                       stream_ && stream_->started()
                           ? "the deadline passed during the generation"
                           : "the deadline passed while queued");
  }
  const grpc::Status grpc_status = ToGrpcStatus(status);
  LogGenerateEnd(state_, kMethod, {.stream = stream_, .runtime = runtime_},
                 status, start_);
  if (!runtime_.empty()) {
    // Refusals carry one too: a full queue is news for the balancer.
    const std::optional<Usage> usage =
        stream_ ? stream_->usage() : std::nullopt;
    AddLoadReport(state_, *context_, runtime_,
                  usage.has_value() ? &*usage : nullptr);
  }
  Finish(grpc_status);
}

void GenerateReactor::OnDone() {
  if (stream_) state_.requests->Remove(*stream_);
  delete this;
}

}  // namespace ggufd
