// The named runtime instances of a server, each its own RuntimeWorker (its
// own thread, queue and model). A "default" runtime exists from the start;
// requests that name no runtime go there.
#ifndef GGUFD_SERVICE_RUNTIME_REGISTRY_H_
#define GGUFD_SERVICE_RUNTIME_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "service/runtime_worker.h"

namespace ggufd {

class RuntimeRegistry {
 public:
  static constexpr std::string_view kDefaultName = "default";
  static constexpr size_t kMaxRuntimes = 64;
  static constexpr size_t kMaxQueueCapacity = 4096;

  struct Options {
    size_t queue_capacity = 64;  // for runtimes created without one
    // Runtimes that may exist, the default one included (at most
    // kMaxRuntimes).
    size_t max_runtimes = kMaxRuntimes;
    // Every worker's snapshots (on its own thread; must not block).
    std::function<void(const WorkerSnapshot&)> on_snapshot;
  };

  explicit RuntimeRegistry(Options options);
  // Stops every worker and joins their threads.
  ~RuntimeRegistry();
  RuntimeRegistry(const RuntimeRegistry&) = delete;
  RuntimeRegistry& operator=(const RuntimeRegistry&) = delete;

  // The runtime named `name` ("" = default); NOT_FOUND (error code 1, a
  // BadRequest violation on "runtime") when there is none.
  absl::StatusOr<std::shared_ptr<RuntimeWorker>> Find(
      std::string_view name) const;

  // Starts a runtime. ALREADY_EXISTS for a live one of that name (a dead
  // one is replaced); INVALID_ARGUMENT for a bad name or capacity;
  // RESOURCE_EXHAUSTED (LIMIT_EXCEEDED) past max_runtimes. `queue_capacity`
  // 0 = default.
  absl::StatusOr<std::shared_ptr<RuntimeWorker>> Create(const std::string& name,
                                                        size_t queue_capacity);

  // Stops and forgets a runtime: its queued work is refused with
  // UNAVAILABLE and a running generation is cancelled. Does not block: the
  // thread is joined when the registry is destroyed.
  absl::Status Delete(std::string_view name);

  // Every runtime, sorted by name.
  std::vector<std::shared_ptr<RuntimeWorker>> List() const;

  // Stops every worker without waiting (shutdown).
  void StopAll();

 private:
  std::shared_ptr<RuntimeWorker> StartWorker(const std::string& name,
                                             size_t queue_capacity);

  const Options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<RuntimeWorker>, std::less<>> workers_;
  // Stopped workers whose threads are joined at destruction, never on a
  // request's thread.
  std::vector<std::shared_ptr<RuntimeWorker>> stopped_;
};

// Whether `name` is a valid runtime name: 1-64 of [a-z0-9_-].
bool IsValidRuntimeName(std::string_view name);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_RUNTIME_REGISTRY_H_
