// One Embed call, whichever front door it came through (gRPC's
// Inference/Embed, an HTTP embeddings route): validation, admission, its
// request id (reachable by Cancel and by shutdown's CancelAll), the runtime
// worker's queue and deadline, cancellation, the request metric and the
// `rpc` log line. Transport-free: the door turns its request into a
// v1::EmbedRequest and gets the response or an error status back; it only
// renders them (ToGrpcStatus, or its own error shape) and cancels the call
// when its client goes away.
#ifndef GGUFD_SERVICE_EMBED_CALL_H_
#define GGUFD_SERVICE_EMBED_CALL_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ggufd/v1/inference.pb.h"
#include "runtime/embedding.h"
#include "service/command.h"
#include "service/request_handle.h"
#include "service/service_state.h"

namespace ggufd {

// Who makes the call and how it is named in metrics and logs.
struct EmbedCallInfo {
  std::string method = "Inference/Embed";
  // The principal, recorded as the owner of the request id ("" without
  // authentication).
  std::string caller;
  // A call still queued then is dropped (DEADLINE_EXCEEDED), and one
  // cancelled within 100 ms of it counts as past its deadline.
  absl::Time deadline = absl::InfiniteFuture();
};

// How a call ended.
struct EmbedOutcome {
  // OK, or the error with its details attached as payloads (error code,
  // BadRequest field such as "texts[2]", retry delay).
  absl::Status status;
  v1::EmbedResponse response;  // when OK
  // The runtime it ran on or was queued for; empty when refused before a
  // runtime was found.
  std::string runtime;
  std::string request_id;  // empty when refused before it was assigned
};

class EmbedCall {
 public:
  // Called exactly once: inside Start for a refusal (or a call cancelled
  // by id before it was queued), else on the worker's thread, or on the
  // thread that cancels a queued call. Must not block.
  using Done = absl::AnyInvocable<void(EmbedOutcome&)>;

  // Validates and queues `request`; `done` gets the outcome. The returned
  // call (never null) is only needed to Cancel it.
  static std::shared_ptr<EmbedCall> Start(ServiceState& state,
                                          const v1::EmbedRequest& request,
                                          EmbedCallInfo info, Done done);

  // The client is gone: a queued call ends at once with CANCELLED, a
  // running one stops before its next batch of texts (or chunk of a long
  // text). Does nothing once the call has ended.
  void Cancel();

  // Use Start.
  EmbedCall(ServiceState& state, EmbedCallInfo info, Done done);

 private:
  // Ends the call with `status` and, when OK, `response` (the first call
  // wins): metric, log line, `done`.
  void Finish(absl::Status status, v1::EmbedResponse* response = nullptr);
  // Runs on the worker: the embedding itself, into run_status_ and
  // run_response_ (read by the command's `after`, on the same thread).
  void Run(Runtime& runtime, const CommandContext& context,
           const EmbedRequest& request);
  absl::Status Admit(const v1::EmbedRequest& request,
                     std::shared_ptr<EmbedCall> self);

  ServiceState& state_;
  const EmbedCallInfo info_;
  const absl::Time start_ = absl::Now();
  // Registered in ActiveRequests, so Cancel(request_id) and CancelAll reach
  // this call: a stream that carries no events, only its cancel token, its
  // worker (to withdraw the command from) and its queued/running state.
  std::shared_ptr<RequestHandle> handle_;
  EmbedOutcome outcome_;  // runtime and request id as soon as known
  absl::Status run_status_;
  v1::EmbedResponse run_response_;
  std::mutex mu_;
  Done done_;  // taken by the first Finish
  bool finished_ = false;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_EMBED_CALL_H_
