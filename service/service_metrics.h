// The metrics ggufd exports: requests by outcome, refusals by the access
// checks and limits, queue depth and wait, time to first token, inter-token
// latency, token counts and throughput; and, under vLLM's names, the three
// gauges the Gateway API Inference Extension's endpoint picker routes by.
// Thread-safe; fed by handlers, generation streams and worker snapshots.
#ifndef GGUFD_SERVICE_SERVICE_METRICS_H_
#define GGUFD_SERVICE_SERVICE_METRICS_H_

#include <string>
#include <string_view>
#include <vector>

#include "runtime/generation.h"
#include "service/metrics/metrics_registry.h"
#include "service/runtime_load.h"

namespace ggufd {

struct WorkerSnapshot;

class ServiceMetrics {
 public:
  ServiceMetrics();

  // One finished RPC: `method` as "Inference/Generate", `code` the gRPC
  // status code's name ("OK", "RESOURCE_EXHAUSTED").
  void CountRequest(std::string_view method, std::string_view code);
  // A call refused by authentication or authorization: `reason` is the
  // ErrorInfo reason ("UNAUTHENTICATED", "ACCESS_DENIED").
  void CountDenial(std::string_view method, std::string_view reason);
  // A request refused by a configured limit ("message_bytes",
  // "prompt_tokens", "new_tokens", "runtimes").
  void CountLimitRejection(std::string_view limit);
  void ObserveQueueWait(const std::string& runtime, double seconds);
  void ObserveFirstToken(const std::string& runtime, double seconds);
  void ObserveInterToken(const std::string& runtime, double seconds);
  void ObserveGeneration(const std::string& runtime, const Usage& usage,
                         const Timings& timings);
  // Queue depth/capacity, state and sessions of one runtime.
  void UpdateWorker(const WorkerSnapshot& snapshot);
  // Every runtime that exists, at scrape time: UpdateWorker for each, and
  // the vllm:* gauges (one series per runtime, model_name = the runtime's
  // name; runtimes not listed lose theirs).
  void UpdateRuntimes(const std::vector<WorkerSnapshot>& snapshots);
  // A deleted runtime's gauges read 0 from now on.
  void ForgetWorker(const std::string& runtime);

  metrics::Registry& registry() { return registry_; }
  // The live load of each runtime (metrics and ORCA load reports).
  RuntimeLoadTracker& load() { return load_; }

 private:
  metrics::Registry registry_;
  RuntimeLoadTracker load_;
  metrics::Family& requests_;
  metrics::Family& denials_;
  metrics::Family& limit_rejections_;
  metrics::Family& queue_depth_;
  metrics::Family& queue_capacity_;
  metrics::Family& runtime_ready_;
  metrics::Family& sessions_;
  metrics::Family& session_kv_bytes_;
  metrics::Family& session_kv_budget_;
  metrics::Family& session_evictions_;
  metrics::Family& sessions_expired_;
  metrics::Family& model_shared_by_;
  metrics::Family& queue_wait_;
  metrics::Family& first_token_;
  metrics::Family& inter_token_;
  metrics::Family& prompt_tokens_;
  metrics::Family& cached_tokens_;
  metrics::Family& generated_tokens_;
  metrics::Family& decode_rate_;
  metrics::Family& prefill_rate_;
  // Named as vLLM names them, which is what the endpoint picker reads.
  metrics::Family& vllm_waiting_;
  metrics::Family& vllm_running_;
  metrics::Family& vllm_kv_usage_;
};

// The gRPC status code's canonical name ("OK", "NOT_FOUND").
std::string GrpcCodeName(int code);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_SERVICE_METRICS_H_
