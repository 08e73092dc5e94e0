// Schedules a callback on a gRPC thread (a callback alarm), one at a time.
// Reactors use it to hand work back to gRPC's threads: a worker that has
// new events wakes the stream's reactor through it instead of writing
// itself, and watch streams tick with it.
#ifndef GGUFD_SERVICE_REACTOR_TIMER_H_
#define GGUFD_SERVICE_REACTOR_TIMER_H_

#include <functional>
#include <memory>
#include <mutex>

#include "absl/time/time.h"
#include "grpcpp/alarm.h"

namespace ggufd {

class ReactorTimer {
 public:
  // Runs `fn(true)` at `when` (absl::InfinitePast() = as soon as possible),
  // or `fn(false)` early after Cancel(). The caller guarantees the previous
  // one has fired; each gets a fresh alarm, so an alarm is never re-armed
  // while its callback may still be returning.
  void Schedule(absl::Time when, std::function<void(bool)> fn);
  // Fires a pending callback early with false; no-op if none is pending.
  void Cancel();

 private:
  std::mutex mu_;
  std::unique_ptr<grpc::Alarm> alarm_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_REACTOR_TIMER_H_
