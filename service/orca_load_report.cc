#include "service/orca_load_report.h"

#include <algorithm>
#include <string>

#include "service/runtime_registry.h"

namespace ggufd {

xds::data::orca::v3::OrcaLoadReport MakeLoadReport(const RuntimeLoad& load,
                                                   const Usage* cost) {
  xds::data::orca::v3::OrcaLoadReport report;
  // The worker's busy share is the runtime's utilization: a busy runtime
  // keeps its compute threads on every core, so it stands for the CPU too,
  // for clients that read only cpu_utilization.
  report.set_application_utilization(load.busy);
  report.set_cpu_utilization(load.busy);
  report.set_rps_fractional(load.requests_per_second);
  auto& utilization = *report.mutable_utilization();
  utilization["queue"] =
      load.capacity > 0
          ? std::min(1.0, static_cast<double>(load.waiting) / load.capacity)
          : 0.0;
  utilization["kv_cache"] = load.kv_cache_usage;
  auto& named = *report.mutable_named_metrics();
  named["queue_depth"] = load.waiting;
  named["queue_capacity"] = load.capacity;
  named["running"] = load.running;
  if (cost != nullptr) {
    auto& request_cost = *report.mutable_request_cost();
    request_cost["prompt_tokens"] = cost->prompt_tokens;
    request_cost["cached_tokens"] = cost->cached_tokens;
    request_cost["completion_tokens"] = cost->completion_tokens;
  }
  return report;
}

void AddLoadReport(ServiceState& state, grpc::ServerContextBase& context,
                   std::string_view runtime, const Usage* cost) {
  auto worker = state.registry->Find(runtime);
  if (!worker.ok()) return;
  const RuntimeLoad load = state.metrics->load().Sample((*worker)->Snapshot());
  context.AddTrailingMetadata(kLoadReportTrailer,
                              MakeLoadReport(load, cost).SerializeAsString());
}

}  // namespace ggufd
