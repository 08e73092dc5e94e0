// How loaded one runtime is, in the terms load balancers route by: the
// requests waiting and running, the share of its KV cache the running work
// holds, how busy its worker has been and how many requests it finishes per
// second. The /metrics gauges the Gateway API Inference Extension reads
// (vllm:*) and the per-call ORCA load reports are both made from this.
#ifndef GGUFD_SERVICE_RUNTIME_LOAD_H_
#define GGUFD_SERVICE_RUNTIME_LOAD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ggufd {

struct WorkerSnapshot;

struct RuntimeLoad {
  int32_t waiting = 0;   // queued, not yet running
  int32_t capacity = 0;  // of the queue
  int32_t running = 0;   // 1 while the worker runs a command
  // Context positions the running generation holds over the runtime's
  // context length: the fraction of the KV cache in use, 0 when idle.
  double kv_cache_usage = 0;
  // Averaged over about kLoadWindow (exponentially weighted): the fraction
  // of time the worker ran commands, and the commands it finished per
  // second.
  double busy = 0;
  double requests_per_second = 0;
};

class RuntimeLoadTracker {
 public:
  // The time constant of the busy and rate averages: long enough to smooth
  // single generations, short enough to follow a shift of traffic.
  static constexpr absl::Duration kLoadWindow = absl::Seconds(10);

  // The context positions the running generation of `runtime` holds (its
  // prompt, with a session's history, and the tokens generated so far);
  // 0 when it ends. Called by the generation stream on the worker thread.
  void SetContextInUse(std::string_view runtime, int32_t positions);

  // The load of the runtime `snapshot` describes, as of `now`. Advances
  // the averages, so any caller may sample at any time.
  RuntimeLoad Sample(const WorkerSnapshot& snapshot,
                     absl::Time now = absl::Now());

  // A deleted runtime: a new one of the same name starts afresh.
  void Forget(std::string_view runtime);

 private:
  struct Averages {
    absl::Time worker_started;  // tells a re-created runtime apart
    absl::Time last;            // the previous sample
    absl::Duration busy_time;   // the worker's totals at `last`
    uint64_t commands_run = 0;
    double busy = 0;
    double requests_per_second = 0;
  };

  std::mutex mu_;
  std::map<std::string, int32_t, std::less<>> context_in_use_;
  std::map<std::string, Averages, std::less<>> averages_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_RUNTIME_LOAD_H_
