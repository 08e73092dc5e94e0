#include "service/embed_call.h"

#include <string>
#include <string_view>
#include <utility>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/runtime.h"
#include "service/active_requests.h"
#include "service/rpc_log.h"
#include "service/service_metrics.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

absl::StatusOr<Pooling> PoolingOf(v1::Pooling pooling) {
  switch (pooling) {
    case v1::POOLING_UNSPECIFIED:
      return Pooling::kModel;
    case v1::POOLING_MEAN:
      return Pooling::kMean;
    case v1::POOLING_LAST:
      return Pooling::kLast;
    case v1::POOLING_CLS:
      return Pooling::kCls;
    default:
      return InvalidField(
          "pooling", StrCat("unknown pooling ", static_cast<int>(pooling)));
  }
}

v1::Pooling ToProto(Pooling pooling) {
  switch (pooling) {
    case Pooling::kMean:
      return v1::POOLING_MEAN;
    case Pooling::kLast:
      return v1::POOLING_LAST;
    case Pooling::kCls:
      return v1::POOLING_CLS;
    case Pooling::kModel:
      break;
  }
  return v1::POOLING_UNSPECIFIED;
}

// The request as the runtime takes it; the checks that need no model.
absl::StatusOr<EmbedRequest> ParseRequest(const v1::EmbedRequest& in) {
  if (in.texts_size() == 0) {
    return InvalidField("texts", "there must be at least one text");
  }
  if (in.texts_size() > kMaxEmbedTexts) {
    return InvalidField(
        "texts", StrCat("at most ", kMaxEmbedTexts, " texts per call, not ",
                        in.texts_size()));
  }
  EmbedRequest out;
  auto pooling = PoolingOf(in.pooling());
  if (!pooling.ok()) return pooling.status();
  out.pooling = *pooling;
  out.texts.assign(in.texts().begin(), in.texts().end());
  out.normalize = !in.has_normalize() || in.normalize();
  out.truncate = in.truncate();
  if (in.has_add_special()) out.add_special = in.add_special();
  return out;
}

void ToProto(EmbedResult& in, v1::EmbedResponse& out) {
  out.set_model(std::move(in.model));
  out.set_pooling(ToProto(in.pooling));
  out.set_dimensions(in.dimensions);
  out.set_prompt_tokens(in.prompt_tokens);
  out.mutable_embeddings()->Reserve(static_cast<int>(in.embeddings.size()));
  for (const Embedding& e : in.embeddings) {
    v1::Embedding* embedding = out.add_embeddings();
    embedding->mutable_values()->Assign(e.values.begin(), e.values.end());
    embedding->set_tokens(e.tokens);
    embedding->set_truncated(e.truncated);
  }
}

}  // namespace

EmbedCall::EmbedCall(ServiceState& state, EmbedCallInfo info, Done done)
    : state_(state), info_(std::move(info)), done_(std::move(done)) {}

std::shared_ptr<EmbedCall> EmbedCall::Start(ServiceState& state,
                                            const v1::EmbedRequest& request,
                                            EmbedCallInfo info, Done done) {
  auto call =
      std::make_shared<EmbedCall>(state, std::move(info), std::move(done));
  if (absl::Status admitted = call->Admit(request, call); !admitted.ok()) {
    call->Finish(admitted);
  }
  return call;
}

absl::Status EmbedCall::Admit(const v1::EmbedRequest& request,
                              std::shared_ptr<EmbedCall> self) {
  if (absl::Status s = state_.CheckAdmission(); !s.ok()) return s;
  if (!request.request_id().empty() &&
      !IsValidRequestId(request.request_id())) {
    return InvalidField("request_id",
                        "must be 1-128 characters of [A-Za-z0-9._:-]");
  }
  auto parsed = ParseRequest(request);
  if (!parsed.ok()) return parsed.status();
  auto worker = state_.registry->Find(request.runtime());
  if (!worker.ok()) return worker.status();
  outcome_.runtime = (*worker)->name();
  outcome_.request_id = request.request_id().empty()
                            ? ActiveRequests::NewRequestId()
                            : request.request_id();
  handle_ = std::make_shared<RequestHandle>(outcome_.request_id);
  RETURN_IF_ERROR(state_.requests->Add(handle_, info_.caller));

  Command command;
  command.operation = "embed";
  command.request_id = outcome_.request_id;
  command.deadline = info_.deadline;
  command.cancel = handle_->cancel_token();
  command.run = [self, job = std::move(*parsed)](
                    Runtime& runtime, const CommandContext& context) {
    self->Run(runtime, context, job);
  };
  // The reply waits for the worker's snapshot, as every runtime call's.
  command.after = [self] {
    self->Finish(self->run_status_, &self->run_response_);
  };
  // A call cancelled while queued ends here, on the cancelling thread.
  command.drop = [self](const absl::Status& why) { self->Finish(why); };
  handle_->SetWorker(*worker);
  if (absl::Status posted = (*worker)->Post(command); !posted.ok()) {
    state_.requests->Remove(*handle_);
    return posted;
  }
  return absl::OkStatus();
}

void EmbedCall::Run(Runtime& runtime, const CommandContext& context,
                    const EmbedRequest& request) {
  handle_->MarkRunning();  // now Cancel finds it running
  if (state_.metrics != nullptr) {
    state_.metrics->ObserveQueueWait(outcome_.runtime,
                                     absl::ToDoubleSeconds(context.queue_wait));
  }
  auto result = runtime.Embed(request, *handle_->cancel_token());
  if (!result.ok()) {
    run_status_ = result.status();
    return;
  }
  ToProto(*result, run_response_);
}

void EmbedCall::Cancel() {
  if (handle_ != nullptr) handle_->Cancel();
}

void EmbedCall::Finish(absl::Status status, v1::EmbedResponse* response) {
  Done done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    done = std::move(done_);
  }
  if (handle_ != nullptr) {
    state_.requests->Remove(*handle_);
    handle_->MarkEnded();  // a later Cancel finds nothing to do
  }
  if (GetErrorCode(status) == ErrorCode::kCancelled &&
      absl::Now() + absl::Milliseconds(100) >= info_.deadline) {
    status = MakeError(ErrorCode::kDeadlineExceeded,
                       "the deadline passed before the texts were embedded");
  }
  status = WithTaggedFieldViolation(std::move(status));
  RpcCall rpc{.method = info_.method,
              .runtime = outcome_.runtime,
              .request_id = outcome_.request_id,
              .start = start_};
  if (status.ok() && response != nullptr) {
    rpc.extra = {{"texts", response->embeddings_size()},
                 {"prompt_tokens", response->prompt_tokens()}};
    outcome_.response = std::move(*response);
  }
  LogRpc(state_, rpc, status);
  outcome_.status = std::move(status);
  done(outcome_);
}

}  // namespace ggufd
