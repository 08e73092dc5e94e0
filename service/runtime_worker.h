// The owner thread of one Runtime. It creates the runtime, runs the
// commands posted to its channel one at a time, and destroys the runtime,
// all on its own thread; nothing else ever touches the runtime. After each
// command it publishes a snapshot of the runtime's diagnostics for readers
// on other threads (status RPCs, health, metrics).
//
// An exception escaping a command (the runtime broke in a way it could not
// report) kills the worker: the command and everything queued get
// UNAVAILABLE, the runtime is destroyed, and later posts are refused with
// UNAVAILABLE, while other workers keep serving.
#ifndef GGUFD_SERVICE_RUNTIME_WORKER_H_
#define GGUFD_SERVICE_RUNTIME_WORKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/runtime.h"
#include "service/command.h"
#include "service/command_channel.h"

namespace ggufd {

// What a worker looks like from outside, as of its last command.
struct WorkerSnapshot {
  std::string name;
  bool alive = true;
  std::string running_operation;   // empty when idle
  std::string running_request_id;  // of the running command, if any
  int32_t queue_depth = 0;         // waiting, not counting the running one
  int32_t queue_capacity = 0;
  uint64_t commands_run = 0;
  uint64_t commands_dropped = 0;
  // When the worker started, and how long it has spent running commands
  // since (the running one up to now): busy_time over a span is the
  // fraction of that span the runtime was occupied, for load reports.
  absl::Time started;
  absl::Duration busy_time;
  Diagnostics diagnostics;  // published after the last command
};

class RuntimeWorker {
 public:
  struct Options {
    std::string name;
    size_t queue_capacity = 64;
    // Called on the worker thread after each command and when the worker
    // dies; must not block.
    std::function<void(const WorkerSnapshot&)> on_snapshot;
  };

  explicit RuntimeWorker(Options options);
  // Stops the worker (as Stop) and joins its thread.
  ~RuntimeWorker();
  RuntimeWorker(const RuntimeWorker&) = delete;
  RuntimeWorker& operator=(const RuntimeWorker&) = delete;

  // Queues `command`. On refusal (QUEUE_FULL, UNAVAILABLE) the command is
  // not consumed and its drop callback is not called: the caller answers.
  absl::Status Post(Command& command);

  // Where Withdraw found a command.
  enum class Withdrawal {
    kDropped,  // still queued: dropped now, its drop called on this thread
    kRunning,  // running: it stops by polling its token
    // Neither: not posted yet, or taken but not yet started (either way
    // dropped as it arrives or starts, its token being set), or over.
    kNotQueued,
  };
  // For the owner of a command whose cancel token `token` it has set: a
  // command still queued ends at once, on this thread, even while the
  // worker is busy; the answer says what became of it.
  Withdrawal Withdraw(const CancelToken& token);

  // True on the worker's own thread.
  bool IsOwnerThread() const;

  // Refuses new commands, cancels the running one, and drops the queued
  // ones with UNAVAILABLE. Does not wait; the destructor joins.
  void Stop();

  WorkerSnapshot Snapshot() const;
  const std::string& name() const { return options_.name; }

 private:
  void Loop();
  // Runs one drained command (or drops it); false if it killed the worker.
  bool RunOne(Command& command);
  void Publish();
  bool StopRequested() const;

  const Options options_;
  CommandChannel channel_;
  std::unique_ptr<Runtime> runtime_;  // owner thread only

  mutable std::mutex mu_;  // guards the fields below
  WorkerSnapshot snapshot_;
  // The running command's token, set under the same lock as its start
  // check, so Withdraw sees a command dropped or running, never between.
  std::shared_ptr<CancelToken> running_cancel_;
  absl::Time running_since_;  // while a command runs
  bool stopping_ = false;

  // The worker thread's id, set by that thread itself as it starts: reading
  // thread_.get_id() there would race with the constructor's assignment of
  // thread_ (TSan saw it once the service's assertions were compiled in).
  std::atomic<std::thread::id> owner_{};
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_RUNTIME_WORKER_H_
