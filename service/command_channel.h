// The bounded command queue in front of one runtime worker: many producers
// (gRPC handlers), one consumer (the worker), drained by swapping the whole
// queue out under the lock and running it unlocked (Envoy's Dispatcher).
#ifndef GGUFD_SERVICE_COMMAND_CHANNEL_H_
#define GGUFD_SERVICE_COMMAND_CHANNEL_H_

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "service/command.h"

namespace ggufd {

class CommandChannel {
 public:
  // `capacity` bounds the commands waiting to run (accepted but not yet
  // started); the one running does not count.
  explicit CommandChannel(size_t capacity);
  CommandChannel(const CommandChannel&) = delete;
  CommandChannel& operator=(const CommandChannel&) = delete;

  // Accepts `command`, or refuses it at once: QUEUE_FULL (with the command
  // left untouched in the caller's hands) or UNAVAILABLE once closed.
  absl::Status Push(Command& command);

  // Blocks until commands are queued or the channel is closed, then swaps
  // every queued command into `out` (which must be empty). Returns false
  // once the channel is closed; then `out` holds what was still queued.
  bool WaitAndDrain(std::vector<Command>& out);

  // The consumer tells the channel it started or dropped one drained
  // command, which frees its place in the capacity.
  void MarkTaken();

  // Refuses every later Push. Commands already queued are left for the
  // consumer's next WaitAndDrain.
  void Close();

  size_t waiting() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::vector<Command> queue_;
  // Accepted but not yet started: queue_ plus what the consumer drained.
  size_t waiting_ = 0;
  bool closed_ = false;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_COMMAND_CHANNEL_H_
