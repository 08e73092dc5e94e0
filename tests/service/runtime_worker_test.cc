#include "service/runtime_worker.h"

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/error_code.h"

namespace ggufd {
namespace {

// A command that records whether it ran or why it was dropped.
struct Outcome {
  std::promise<absl::Status> done;
  std::atomic<bool> ran{false};
};

Command Track(Outcome& outcome, std::function<void(Runtime&)> body = nullptr) {
  Command c;
  c.operation = "test";
  c.run = [&outcome, body](Runtime& runtime, const CommandContext&) {
    outcome.ran = true;
    if (body) body(runtime);
    outcome.done.set_value(absl::OkStatus());
  };
  c.drop = [&outcome](const absl::Status& why) { outcome.done.set_value(why); };
  return c;
}

TEST(RuntimeWorkerTest, RunsCommandsOnItsOwnThreadOneAtATime) {
  RuntimeWorker worker({.name = "w", .queue_capacity = 64});
  EXPECT_FALSE(worker.IsOwnerThread());
  constexpr int kCommands = 40;
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::atomic<int> on_owner{0};
  std::vector<Outcome> outcomes(kCommands);
  std::vector<std::thread> posters;
  for (int p = 0; p < 4; ++p) {
    posters.emplace_back([&, p] {
      for (int i = p; i < kCommands; i += 4) {
        Command c = Track(outcomes[i], [&](Runtime&) {
          const int now = ++inside;
          int seen = max_inside.load();
          while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
          }
          if (worker.IsOwnerThread()) ++on_owner;
          std::this_thread::yield();
          --inside;
        });
        ASSERT_TRUE(worker.Post(c).ok());
      }
    });
  }
  for (auto& t : posters) t.join();
  for (auto& o : outcomes) EXPECT_TRUE(o.done.get_future().get().ok());
  // A last command: everything before it has been counted when it runs.
  Outcome barrier;
  Command cb = Track(barrier);
  ASSERT_TRUE(worker.Post(cb).ok());
  barrier.done.get_future().wait();
  EXPECT_EQ(max_inside.load(), 1);
  EXPECT_EQ(on_owner.load(), kCommands);
  EXPECT_GE(worker.Snapshot().commands_run, static_cast<uint64_t>(kCommands));
}

TEST(RuntimeWorkerTest, PublishesTheRuntimesDiagnostics) {
  std::promise<WorkerSnapshot> first;
  std::atomic<bool> set{false};
  RuntimeWorker worker({.name = "diag",
                        .queue_capacity = 4,
                        .on_snapshot = [&](const WorkerSnapshot& s) {
                          if (!set.exchange(true)) first.set_value(s);
                        }});
  const WorkerSnapshot s = first.get_future().get();
  EXPECT_EQ(s.name, "diag");
  EXPECT_TRUE(s.alive);
  EXPECT_FALSE(s.diagnostics.model_loaded);
  EXPECT_EQ(worker.Snapshot().queue_capacity, 4);
}

// Blocks the worker until released, so the queue fills deterministically.
class Gate {
 public:
  Command Hold() {
    Command c;
    c.operation = "gate";
    c.run = [this](Runtime&, const CommandContext&) {
      entered_.set_value();
      released_.get_future().wait();
    };
    return c;
  }
  void WaitEntered() { entered_.get_future().wait(); }
  void Release() { released_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> released_;
};

TEST(RuntimeWorkerTest, FullQueueIsRefusedAtOnce) {
  RuntimeWorker worker({.name = "w", .queue_capacity = 2});
  Gate gate;
  Command hold = gate.Hold();
  ASSERT_TRUE(worker.Post(hold).ok());
  gate.WaitEntered();
  Outcome a, b, c;
  Command ca = Track(a), cb = Track(b), cc = Track(c);
  ASSERT_TRUE(worker.Post(ca).ok());
  ASSERT_TRUE(worker.Post(cb).ok());
  EXPECT_EQ(GetErrorCode(worker.Post(cc)), ErrorCode::kQueueFull);
  EXPECT_EQ(worker.Snapshot().queue_depth, 2);
  gate.Release();
  EXPECT_TRUE(a.done.get_future().get().ok());
  EXPECT_TRUE(b.done.get_future().get().ok());
  EXPECT_FALSE(c.ran);
}

TEST(RuntimeWorkerTest, ExpiredWhileQueuedNeverRuns) {
  RuntimeWorker worker({.name = "w", .queue_capacity = 8});
  Gate gate;
  Command hold = gate.Hold();
  ASSERT_TRUE(worker.Post(hold).ok());
  gate.WaitEntered();
  Outcome expired, fine;
  Command ce = Track(expired);
  ce.deadline = absl::Now() + absl::Milliseconds(1);
  Command cf = Track(fine);
  ASSERT_TRUE(worker.Post(ce).ok());
  ASSERT_TRUE(worker.Post(cf).ok());
  absl::SleepFor(absl::Milliseconds(5));  // the deadline passes meanwhile
  gate.Release();
  EXPECT_EQ(GetErrorCode(expired.done.get_future().get()),
            ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(fine.done.get_future().get().ok());
  EXPECT_FALSE(expired.ran);
  EXPECT_EQ(worker.Snapshot().commands_dropped, 1u);
}

TEST(RuntimeWorkerTest, CancelTokenSetWhileQueuedDropsTheCommand) {
  RuntimeWorker worker({.name = "w", .queue_capacity = 8});
  Gate gate;
  Command hold = gate.Hold();
  ASSERT_TRUE(worker.Post(hold).ok());
  gate.WaitEntered();
  Outcome cancelled;
  Command cc = Track(cancelled);
  auto token = std::make_shared<CancelToken>();
  cc.cancel = token;
  ASSERT_TRUE(worker.Post(cc).ok());
  token->Cancel();
  gate.Release();
  EXPECT_EQ(GetErrorCode(cancelled.done.get_future().get()),
            ErrorCode::kCancelled);
  EXPECT_FALSE(cancelled.ran);
}

TEST(RuntimeWorkerTest, WithdrawEndsAQueuedCommandWhileTheWorkerIsBusy) {
  Gate gate;  // outlives the worker: nothing else waits for the gate's end
  RuntimeWorker worker({.name = "w", .queue_capacity = 8});
  Command hold = gate.Hold();
  ASSERT_TRUE(worker.Post(hold).ok());
  gate.WaitEntered();
  Outcome withdrawn;
  Command cw = Track(withdrawn);
  auto token = std::make_shared<CancelToken>();
  cw.cancel = token;
  ASSERT_TRUE(worker.Post(cw).ok());
  EXPECT_EQ(worker.Snapshot().queue_depth, 1);
  token->Cancel();
  EXPECT_EQ(worker.Withdraw(*token), RuntimeWorker::Withdrawal::kDropped);
  // Answered on this thread, while the worker is still held.
  auto done = withdrawn.done.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(GetErrorCode(done.get()), ErrorCode::kCancelled);
  const WorkerSnapshot s = worker.Snapshot();
  EXPECT_EQ(s.queue_depth, 0);
  EXPECT_EQ(s.commands_dropped, 1u);
  EXPECT_EQ(s.running_operation, "gate");
  gate.Release();
  EXPECT_FALSE(withdrawn.ran);
}

TEST(RuntimeWorkerTest, WithdrawLeavesARunningCommandToItsToken) {
  Gate gate;
  RuntimeWorker worker({.name = "w", .queue_capacity = 8});
  auto token = std::make_shared<CancelToken>();
  Command running = gate.Hold();
  running.cancel = token;
  ASSERT_TRUE(worker.Post(running).ok());
  gate.WaitEntered();
  token->Cancel();
  EXPECT_EQ(worker.Withdraw(*token), RuntimeWorker::Withdrawal::kRunning);
  gate.Release();
  // Over: nothing left to find.
  while (worker.Snapshot().commands_run == 0) std::this_thread::yield();
  EXPECT_EQ(worker.Withdraw(*token), RuntimeWorker::Withdrawal::kNotQueued);
  EXPECT_EQ(worker.Snapshot().commands_dropped, 0u);
}

TEST(RuntimeWorkerTest, AnExceptionKillsOnlyThisWorker) {
  RuntimeWorker doomed({.name = "doomed", .queue_capacity = 8});
  RuntimeWorker healthy({.name = "healthy", .queue_capacity = 8});
  Gate gate;
  Command hold = gate.Hold();
  ASSERT_TRUE(doomed.Post(hold).ok());
  gate.WaitEntered();
  Outcome thrower, queued;
  Command ct = Track(thrower, [](Runtime&) { throw std::runtime_error("x"); });
  Command cq = Track(queued);
  ASSERT_TRUE(doomed.Post(ct).ok());
  ASSERT_TRUE(doomed.Post(cq).ok());
  gate.Release();
  EXPECT_EQ(GetErrorCode(thrower.done.get_future().get()),
            ErrorCode::kUnavailable);
  EXPECT_EQ(GetErrorCode(queued.done.get_future().get()),
            ErrorCode::kUnavailable);
  EXPECT_FALSE(queued.ran);
  // Later posts are refused; the other worker still serves.
  Outcome late, other;
  Command cl = Track(late), co = Track(other);
  while (doomed.Snapshot().alive) std::this_thread::yield();
  EXPECT_EQ(GetErrorCode(doomed.Post(cl)), ErrorCode::kUnavailable);
  ASSERT_TRUE(healthy.Post(co).ok());
  EXPECT_TRUE(other.done.get_future().get().ok());
}

TEST(RuntimeWorkerTest, StopDropsQueuedWorkAndCancelsTheRunningCommand) {
  auto worker = std::make_unique<RuntimeWorker>(
      RuntimeWorker::Options{.name = "w", .queue_capacity = 8});
  std::promise<void> entered;
  auto token = std::make_shared<CancelToken>();
  Command running;
  running.operation = "spin";
  running.cancel = token;
  std::atomic<bool> saw_cancel{false};
  running.run = [&](Runtime&, const CommandContext&) {
    entered.set_value();
    while (!token->cancelled()) std::this_thread::yield();
    saw_cancel = true;
  };
  ASSERT_TRUE(worker->Post(running).ok());
  entered.get_future().wait();
  Outcome queued;
  Command cq = Track(queued);
  ASSERT_TRUE(worker->Post(cq).ok());
  worker->Stop();
  worker.reset();  // joins
  EXPECT_TRUE(saw_cancel);
  EXPECT_EQ(GetErrorCode(queued.done.get_future().get()),
            ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ggufd
