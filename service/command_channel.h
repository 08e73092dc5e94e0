// The bounded command queue in front of one runtime worker: many producers
// (gRPC handlers), one consumer (the worker) that takes one command at a
// time and runs it unlocked. Only live commands count against the capacity:
// a command that can no longer run (WhyDeadWhileQueued) is dropped as it
// arrives, when its owner withdraws it, or, once the capacity is reached,
// on the spot to make room.
#ifndef GGUFD_SERVICE_COMMAND_CHANNEL_H_
#define GGUFD_SERVICE_COMMAND_CHANNEL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
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
  // left untouched in the caller's hands) or UNAVAILABLE once closed. A
  // command that can no longer run (cancelled before it was posted) is
  // accepted and dropped at once, on this thread.
  absl::Status Push(Command& command);

  // Drops the queued command whose cancel token is `token`, if it can no
  // longer run (the token is set), on this thread: its drop gets why, and
  // its place is free at once. False when no such command is queued (not
  // posted yet, taken by the consumer, or over).
  bool Withdraw(const CancelToken& token);

  // Blocks until a command is queued or the channel is closed, then moves
  // the oldest one into `out` (which must be empty). Returns false once the
  // channel is closed; then `out` holds everything still queued.
  bool WaitAndDrain(std::vector<Command>& out);

  // The consumer tells the channel it started or dropped one drained
  // command, which frees its place in the capacity.
  void MarkTaken();

  // Refuses every later Push. Commands already queued are left for the
  // consumer's next WaitAndDrain.
  void Close();

  size_t waiting() const;
  size_t capacity() const { return capacity_; }
  // Commands dropped while queued (cancelled or expired): withdrawn, dead
  // on arrival, or purged to make room. The consumer counts those it finds
  // dead as it takes them.
  uint64_t purged() const;

 private:
  // Moves the commands that can no longer run out of the queue.
  void PurgeDeadLocked(absl::Time now, std::vector<Command>& dead);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Command> queue_;
  uint64_t purged_ = 0;
  // Accepted but not yet started: queue_ plus what the consumer drained.
  size_t waiting_ = 0;
  bool closed_ = false;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_COMMAND_CHANNEL_H_
