// The per-call load report (ORCA, gRPC's gRFC A51) in the trailers of the
// inference calls that reach a runtime: the `endpoint-load-metrics-bin`
// trailer holding a serialized xds.data.orca.v3.OrcaLoadReport, which
// gRPC clients hand to their load-balancing policy (weighted_round_robin
// weighs backends by rps_fractional / application_utilization).
//
// gRPC 1.51 has a CallMetricRecorder for this, but the interceptor that
// creates it and writes the trailer (EnableCallMetricRecording) is not in
// Debian's libgrpc++, so ggufd writes the same trailer itself.
#ifndef GGUFD_SERVICE_ORCA_LOAD_REPORT_H_
#define GGUFD_SERVICE_ORCA_LOAD_REPORT_H_

#include <string_view>

#include "grpcpp/grpcpp.h"
#include "runtime/generation.h"
#include "service/runtime_load.h"
#include "service/service_state.h"
#include "xds/data/orca/v3/orca_load_report.pb.h"

namespace ggufd {

inline constexpr char kLoadReportTrailer[] = "endpoint-load-metrics-bin";

// What the report says about a runtime under `load`; `cost` (may be null)
// is what the call itself used. See README "Deploy" for each field.
xds::data::orca::v3::OrcaLoadReport MakeLoadReport(const RuntimeLoad& load,
                                                   const Usage* cost);

// Adds the report of the runtime named `runtime`, as of now, to the
// call's trailing metadata (before the call finishes); nothing when no
// runtime has that name.
void AddLoadReport(ServiceState& state, grpc::ServerContextBase& context,
                   std::string_view runtime, const Usage* cost = nullptr);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_ORCA_LOAD_REPORT_H_
