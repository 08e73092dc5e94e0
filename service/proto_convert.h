// Conversions between the public API messages (ggufd.v1) and the runtime's
// structs. Partial messages (proto3 optional fields) become the runtime's
// overrides, which it applies field by field over its defaults.
#ifndef GGUFD_SERVICE_PROTO_CONVERT_H_
#define GGUFD_SERVICE_PROTO_CONVERT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ggufd/v1/diagnostics.pb.h"
#include "ggufd/v1/generation_options.pb.h"
#include "ggufd/v1/inference.pb.h"
#include "ggufd/v1/runtime.pb.h"
#include "ggufd/v1/sessions.pb.h"
#include "runtime/generation.h"
#include "runtime/runtime.h"
#include "service/request_handle.h"
#include "service/runtime_worker.h"

namespace ggufd {

// The fields set in `in` as overrides. Checks the sizes of client-supplied
// lists first (so nothing unbounded is copied), then the ranges that need
// no model, as INVALID_ARGUMENT with a BadRequest violation under `field`
// ("sampling", "stopping").
absl::StatusOr<sampling::SamplingOverrides> ParseSampling(
    const v1::SamplingParams& in, std::string_view field);
absl::StatusOr<StoppingOverrides> ParseStopping(const v1::StoppingParams& in,
                                                std::string_view field);

// Every field set.
void ToProto(const sampling::SamplingParams& in, v1::SamplingParams& out);
void ToProto(const StoppingParams& in, v1::StoppingParams& out);
void ToProto(const Timings& in, v1::Timings& out);
// What Cancel found: found and state ("queued" / "running").
void ToProto(RequestHandle::CancelResult in, v1::CancelResponse& out);
v1::SessionCache ToProto(SessionCache in);
void ToProto(const SessionInfo& in, const std::string& runtime,
             v1::SessionInfo& out);
void ToProto(const ModelInfo& in, const std::string& runtime,
             v1::ModelInfo& out);

v1::RuntimeState StateOf(const WorkerSnapshot& snapshot);
void ToRuntimeInfo(const WorkerSnapshot& snapshot, v1::RuntimeInfo& out);
void ToRuntimeStatus(const WorkerSnapshot& snapshot, v1::RuntimeStatus& out);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_PROTO_CONVERT_H_
