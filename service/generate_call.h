// The transport-free part of one Generate, shared by the gRPC reactor and
// the OpenAI-compatible HTTP door (service/http/), so both follow the same
// rules: admission, validation, the queue, request ids, cancellation.
#ifndef GGUFD_SERVICE_GENERATE_CALL_H_
#define GGUFD_SERVICE_GENERATE_CALL_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ggufd/v1/inference.pb.h"
#include "service/generation_stream.h"
#include "service/service_state.h"

namespace ggufd {

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

}  // namespace ggufd

#endif  // GGUFD_SERVICE_GENERATE_CALL_H_
