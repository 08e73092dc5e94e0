#include "service/service_metrics.h"

#include <array>

#include "absl/status/status.h"
#include "service/runtime_worker.h"

namespace ggufd {
namespace {

// Latency buckets (seconds) from 1 ms to 1 min: token latencies sit at the
// low end, queue waits and first tokens of long prompts at the high end.
std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1,      2.5,   5,    10,    30,   60};
}

std::vector<double> RateBuckets() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
}

}  // namespace

std::string GrpcCodeName(int code) {
  // gRPC's codes and absl's are the same numbers with the same names.
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

ServiceMetrics::ServiceMetrics()
    : requests_(registry_.AddCounter("ggufd_requests_total",
                                     "Finished RPCs by method and status code.",
                                     {"method", "code"})),
      denials_(registry_.AddCounter(
          "ggufd_auth_denials_total",
          "Calls refused by authentication (UNAUTHENTICATED) or "
          "authorization (ACCESS_DENIED), by method.",
          {"method", "reason"})),
      limit_rejections_(registry_.AddCounter(
          "ggufd_limit_rejections_total",
          "Requests refused by a configured limit.", {"limit"})),
      queue_depth_(registry_.AddGauge(
          "ggufd_queue_depth",
          "Commands waiting in a runtime's queue (not counting the running "
          "one).",
          {"runtime"})),
      queue_capacity_(registry_.AddGauge("ggufd_queue_capacity",
                                         "Capacity of a runtime's queue.",
                                         {"runtime"})),
      runtime_ready_(registry_.AddGauge(
          "ggufd_runtime_ready",
          "1 while a runtime has a usable model (loaded, not poisoned, "
          "worker alive).",
          {"runtime"})),
      sessions_(registry_.AddGauge("ggufd_sessions",
                                   "Sessions a runtime keeps.", {"runtime"})),
      session_kv_bytes_(registry_.AddGauge(
          "ggufd_session_kv_bytes",
          "KV cache bytes held by a runtime's sessions.", {"runtime"})),
      session_kv_budget_(registry_.AddGauge(
          "ggufd_session_kv_budget_bytes",
          "The KV cache budget of a runtime's idle sessions.", {"runtime"})),
      session_evictions_(registry_.AddCounter(
          "ggufd_session_evictions_total",
          "Session KV caches evicted to stay under the budget.", {"runtime"})),
      sessions_expired_(registry_.AddCounter(
          "ggufd_sessions_expired_total",
          "Sessions dropped after idling longer than the TTL.", {"runtime"})),
      model_shared_by_(registry_.AddGauge(
          "ggufd_model_shared_runtimes",
          "Runtimes sharing the runtime's loaded model (its weights are held "
          "once).",
          {"runtime"})),
      queue_wait_(registry_.AddHistogram(
          "ggufd_queue_wait_seconds",
          "Time a Generate waited in its runtime's queue.", {"runtime"},
          LatencyBuckets())),
      first_token_(registry_.AddHistogram(
          "ggufd_time_to_first_token_seconds",
          "From the start of a Generate's run to its first token.", {"runtime"},
          LatencyBuckets())),
      inter_token_(
          registry_.AddHistogram("ggufd_inter_token_latency_seconds",
                                 "Time between consecutive generated tokens.",
                                 {"runtime"}, LatencyBuckets())),
      prompt_tokens_(registry_.AddCounter(
          "ggufd_prompt_tokens_total", "Prompt tokens of finished generations.",
          {"runtime"})),
      cached_tokens_(registry_.AddCounter(
          "ggufd_cached_prompt_tokens_total",
          "Prompt tokens reused from the KV cache.", {"runtime"})),
      generated_tokens_(registry_.AddCounter("ggufd_generated_tokens_total",
                                             "Tokens generated.", {"runtime"})),
      decode_rate_(registry_.AddHistogram(
          "ggufd_decode_tokens_per_second",
          "Decode throughput of each finished generation.", {"runtime"},
          RateBuckets())),
      prefill_rate_(registry_.AddHistogram(
          "ggufd_prefill_tokens_per_second",
          "Prefill throughput of each finished generation.", {"runtime"},
          RateBuckets())),
      vllm_waiting_(registry_.AddGauge(
          "vllm:num_requests_waiting",
          "Requests waiting in a runtime's queue (ggufd_queue_depth under "
          "vLLM's name); model_name is the runtime's name.",
          {"model_name"})),
      vllm_running_(registry_.AddGauge(
          "vllm:num_requests_running",
          "Requests a runtime is running (0 or 1: a runtime runs one at a "
          "time); model_name is the runtime's name.",
          {"model_name"})),
      vllm_kv_usage_(registry_.AddGauge(
          "vllm:kv_cache_usage_perc",
          "Fraction (0 to 1) of a runtime's KV cache the running request "
          "holds: its context positions over the context length; 0 when "
          "idle. model_name is the runtime's name.",
          {"model_name"})) {}

void ServiceMetrics::CountRequest(std::string_view method,
                                  std::string_view code) {
  requests_.Add({std::string(method), std::string(code)});
}

void ServiceMetrics::CountDenial(std::string_view method,
                                 std::string_view reason) {
  denials_.Add({std::string(method), std::string(reason)});
}

void ServiceMetrics::CountLimitRejection(std::string_view limit) {
  limit_rejections_.Add({std::string(limit)});
}

void ServiceMetrics::ObserveQueueWait(const std::string& runtime,
                                      double seconds) {
  queue_wait_.Observe({runtime}, seconds);
}

void ServiceMetrics::ObserveFirstToken(const std::string& runtime,
                                       double seconds) {
  first_token_.Observe({runtime}, seconds);
}

void ServiceMetrics::ObserveInterToken(const std::string& runtime,
                                       double seconds) {
  inter_token_.Observe({runtime}, seconds);
}

void ServiceMetrics::ObserveGeneration(const std::string& runtime,
                                       const Usage& usage,
                                       const Timings& timings) {
  prompt_tokens_.Add({runtime}, usage.prompt_tokens);
  cached_tokens_.Add({runtime}, usage.cached_tokens);
  generated_tokens_.Add({runtime}, usage.completion_tokens);
  if (usage.completion_tokens > 1 && timings.decode_tokens_per_s > 0) {
    decode_rate_.Observe({runtime}, timings.decode_tokens_per_s);
  }
  if (usage.prompt_tokens > usage.cached_tokens &&
      timings.prefill_tokens_per_s > 0) {
    prefill_rate_.Observe({runtime}, timings.prefill_tokens_per_s);
  }
}

void ServiceMetrics::UpdateWorker(const WorkerSnapshot& snapshot) {
  queue_depth_.Set({snapshot.name}, snapshot.queue_depth);
  queue_capacity_.Set({snapshot.name}, snapshot.queue_capacity);
  const bool ready = snapshot.alive && snapshot.diagnostics.model_loaded &&
                     !snapshot.diagnostics.poisoned;
  runtime_ready_.Set({snapshot.name}, ready ? 1 : 0);
  const Diagnostics& d = snapshot.diagnostics;
  sessions_.Set({snapshot.name}, d.session_stats.sessions);
  session_kv_bytes_.Set({snapshot.name},
                        static_cast<double>(d.session_stats.kv_bytes));
  session_kv_budget_.Set({snapshot.name},
                         static_cast<double>(d.session_stats.budget_bytes));
  model_shared_by_.Set({snapshot.name}, d.model_shared_by);
  // The snapshot carries totals; a counter only ever moves up by the news.
  auto advance = [&](metrics::Family& family, uint64_t total) {
    const double delta =
        static_cast<double>(total) - family.Value({snapshot.name});
    if (delta > 0) family.Add({snapshot.name}, delta);
  };
  advance(session_evictions_, d.counters.session_evictions);
  advance(sessions_expired_, d.counters.sessions_expired);
}

void ServiceMetrics::UpdateRuntimes(
    const std::vector<WorkerSnapshot>& snapshots) {
  std::vector<metrics::LabelValues> present;
  for (const WorkerSnapshot& snapshot : snapshots) {
    UpdateWorker(snapshot);
    const RuntimeLoad load = load_.Sample(snapshot);
    const metrics::LabelValues labels = {snapshot.name};
    vllm_waiting_.Set(labels, load.waiting);
    vllm_running_.Set(labels, load.running);
    vllm_kv_usage_.Set(labels, load.kv_cache_usage);
    present.push_back(labels);
  }
  for (metrics::Family* family :
       {&vllm_waiting_, &vllm_running_, &vllm_kv_usage_}) {
    family->KeepOnly(present);
  }
}

void ServiceMetrics::ForgetWorker(const std::string& runtime) {
  load_.Forget(runtime);
  queue_depth_.Set({runtime}, 0);
  queue_capacity_.Set({runtime}, 0);
  runtime_ready_.Set({runtime}, 0);
  sessions_.Set({runtime}, 0);
  session_kv_bytes_.Set({runtime}, 0);
  model_shared_by_.Set({runtime}, 0);
}

}  // namespace ggufd
