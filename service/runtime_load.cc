#include "service/runtime_load.h"

#include <algorithm>
#include <cmath>

#include "service/runtime_worker.h"

namespace ggufd {

void RuntimeLoadTracker::SetContextInUse(std::string_view runtime,
                                         int32_t positions) {
  std::lock_guard<std::mutex> lock(mu_);
  if (positions <= 0) {
    if (auto it = context_in_use_.find(runtime); it != context_in_use_.end()) {
      context_in_use_.erase(it);
    }
    return;
  }
  // Called for every token: the runtime's entry is found, not rebuilt.
  if (auto it = context_in_use_.find(runtime); it != context_in_use_.end()) {
    it->second = positions;
  } else {
    context_in_use_.emplace(std::string(runtime), positions);
  }
}

RuntimeLoad RuntimeLoadTracker::Sample(const WorkerSnapshot& snapshot,
                                       absl::Time now) {
  RuntimeLoad load;
  load.capacity = snapshot.queue_capacity;
  if (snapshot.alive) {
    load.waiting = snapshot.queue_depth;
    load.running = snapshot.running_operation.empty() ? 0 : 1;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const int32_t context = snapshot.diagnostics.model.context_length;
  auto in_use = context_in_use_.find(snapshot.name);
  if (load.running == 1 && context > 0 && in_use != context_in_use_.end()) {
    // vLLM's gauge is the share of KV blocks held by running requests; a
    // runtime's KV cache is one context, and the running generation holds
    // the positions it has written. What stays cached after a request for
    // the next one to reuse is not counted, as vLLM does not count its
    // cached free blocks.
    load.kv_cache_usage =
        std::min(1.0, static_cast<double>(in_use->second) / context);
  }

  auto [it, inserted] = averages_.try_emplace(snapshot.name);
  Averages& a = it->second;
  if (inserted || a.worker_started != snapshot.started) {
    // Everything the worker did since it started is news.
    a = Averages{.worker_started = snapshot.started, .last = snapshot.started};
  }
  const absl::Duration elapsed = now - a.last;
  if (elapsed > absl::ZeroDuration()) {
    const double seconds = absl::ToDoubleSeconds(elapsed);
    // An exponentially weighted average over irregular samples: the weight
    // of what happened since the last sample grows with its length.
    const double weight =
        1 - std::exp(-seconds / absl::ToDoubleSeconds(kLoadWindow));
    const double busy = std::clamp(
        absl::ToDoubleSeconds(snapshot.busy_time - a.busy_time) / seconds, 0.0,
        1.0);
    const double finished =
        snapshot.commands_run >= a.commands_run
            ? static_cast<double>(snapshot.commands_run - a.commands_run)
            : 0.0;
    a.busy += weight * (busy - a.busy);
    a.requests_per_second +=
        weight * (finished / seconds - a.requests_per_second);
    a.last = now;
    a.busy_time = snapshot.busy_time;
    a.commands_run = snapshot.commands_run;
  }
  load.busy = a.busy;
  load.requests_per_second = a.requests_per_second;
  return load;
}

void RuntimeLoadTracker::Forget(std::string_view runtime) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = context_in_use_.find(runtime); it != context_in_use_.end()) {
    context_in_use_.erase(it);
  }
  if (auto it = averages_.find(runtime); it != averages_.end()) {
    averages_.erase(it);
  }
}

}  // namespace ggufd
