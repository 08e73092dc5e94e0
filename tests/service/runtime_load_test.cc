#include "service/runtime_load.h"

#include <cmath>

#include "gtest/gtest.h"
#include "service/runtime_worker.h"

namespace ggufd {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

WorkerSnapshot Snapshot(absl::Duration busy, uint64_t commands_run) {
  WorkerSnapshot s;
  s.name = "default";
  s.started = kStart;
  s.busy_time = busy;
  s.commands_run = commands_run;
  s.queue_depth = 3;
  s.queue_capacity = 8;
  s.diagnostics.model.context_length = 1000;
  return s;
}

TEST(RuntimeLoadTest, KvUsageIsTheRunningGenerationsShareOfTheContext) {
  RuntimeLoadTracker tracker;
  WorkerSnapshot running = Snapshot(absl::ZeroDuration(), 0);
  running.running_operation = "generate";
  EXPECT_EQ(tracker.Sample(running, kStart).kv_cache_usage, 0);
  tracker.SetContextInUse("default", 250);
  const RuntimeLoad load = tracker.Sample(running, kStart);
  EXPECT_EQ(load.kv_cache_usage, 0.25);
  EXPECT_EQ(load.waiting, 3);
  EXPECT_EQ(load.capacity, 8);
  EXPECT_EQ(load.running, 1);
  // Only running work holds the cache; other runtimes are not affected.
  EXPECT_EQ(tracker.Sample(Snapshot(absl::ZeroDuration(), 0), kStart).running,
            0);
  EXPECT_EQ(
      tracker.Sample(Snapshot(absl::ZeroDuration(), 0), kStart).kv_cache_usage,
      0);
  WorkerSnapshot other = running;
  other.name = "other";
  EXPECT_EQ(tracker.Sample(other, kStart).kv_cache_usage, 0);
  tracker.SetContextInUse("default", 5000);
  EXPECT_EQ(tracker.Sample(running, kStart).kv_cache_usage, 1);
  tracker.SetContextInUse("default", 0);
  EXPECT_EQ(tracker.Sample(running, kStart).kv_cache_usage, 0);
  // A dead worker has nothing waiting or running.
  running.alive = false;
  EXPECT_EQ(tracker.Sample(running, kStart).waiting, 0);
  EXPECT_EQ(tracker.Sample(running, kStart).running, 0);
}

TEST(RuntimeLoadTest, BusyAndRateAreExponentialAveragesOverTheWindow) {
  RuntimeLoadTracker tracker;
  const absl::Duration window = RuntimeLoadTracker::kLoadWindow;
  const double decay = std::exp(-1.0);
  // Busy for one whole window, finishing 10 requests.
  RuntimeLoad load = tracker.Sample(Snapshot(window, 10), kStart + window);
  EXPECT_NEAR(load.busy, 1 - decay, 1e-12);
  EXPECT_NEAR(load.requests_per_second,
              (1 - decay) * 10 / absl::ToDoubleSeconds(window), 1e-12);
  // Idle for the next: both decay.
  load = tracker.Sample(Snapshot(window, 10), kStart + 2 * window);
  EXPECT_NEAR(load.busy, (1 - decay) * decay, 1e-12);
  // Samples close together do not change the average by much, however
  // many there are.
  for (int i = 1; i <= 100; ++i) {
    load = tracker.Sample(Snapshot(window, 10),
                          kStart + 2 * window + i * absl::Milliseconds(1));
  }
  EXPECT_NEAR(load.busy, (1 - decay) * decay * std::exp(-0.01), 1e-9);
  // A runtime started anew (deleted and created again) starts from zero.
  WorkerSnapshot fresh = Snapshot(absl::ZeroDuration(), 0);
  fresh.started = kStart + 3 * window;
  load = tracker.Sample(fresh, kStart + 4 * window);
  EXPECT_EQ(load.busy, 0);
  EXPECT_EQ(load.requests_per_second, 0);
}

}  // namespace
}  // namespace ggufd
