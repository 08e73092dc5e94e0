#include "service/runtime_worker.h"

#include <cassert>
#include <exception>
#include <utility>
#include <vector>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"

namespace ggufd {

RuntimeWorker::RuntimeWorker(Options options)
    : options_(std::move(options)), channel_(options_.queue_capacity) {
  snapshot_.started = absl::Now();
  thread_ = std::thread([this] {
    owner_.store(std::this_thread::get_id(), std::memory_order_release);
    Loop();
  });
}

RuntimeWorker::~RuntimeWorker() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

absl::Status RuntimeWorker::Post(Command& command) {
  return channel_.Push(command);
}

RuntimeWorker::Withdrawal RuntimeWorker::Withdraw(const CancelToken& token) {
  if (channel_.Withdraw(token)) return Withdrawal::kDropped;
  std::lock_guard<std::mutex> lock(mu_);
  return running_cancel_.get() == &token ? Withdrawal::kRunning
                                         : Withdrawal::kNotQueued;
}

bool RuntimeWorker::IsOwnerThread() const {
  return std::this_thread::get_id() == owner_.load(std::memory_order_acquire);
}

void RuntimeWorker::Stop() {
  std::shared_ptr<CancelToken> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    running = running_cancel_;
  }
  channel_.Close();
  if (running) running->Cancel();
}

WorkerSnapshot RuntimeWorker::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  WorkerSnapshot s = snapshot_;
  s.name = options_.name;
  s.queue_depth = static_cast<int32_t>(channel_.waiting());
  s.queue_capacity = static_cast<int32_t>(channel_.capacity());
  s.commands_dropped += channel_.purged();
  if (!s.running_operation.empty()) s.busy_time += absl::Now() - running_since_;
  return s;
}

void RuntimeWorker::Loop() {
  runtime_ = std::make_unique<Runtime>();
  Publish();
  std::vector<Command> batch;
  bool survived = true;
  bool open = true;
  while (survived && open) {
    open = channel_.WaitAndDrain(batch);
    size_t next = 0;
    while (survived && open && next < batch.size() && !StopRequested()) {
      survived = RunOne(batch[next]);
      batch[next++] = Command();  // release the request's state now
    }
    if (!survived || !open || StopRequested()) {
      // Nothing more runs: drop the rest of this batch and the queue.
      channel_.Close();
      if (!survived) {
        // Dead before anyone hears of it: a refused request may look.
        std::lock_guard<std::mutex> lock(mu_);
        snapshot_.alive = false;
      }
      std::vector<Command> rest;
      for (; next < batch.size(); ++next)
        rest.push_back(std::move(batch[next]));
      std::vector<Command> queued;
      channel_.WaitAndDrain(queued);
      for (Command& c : queued) rest.push_back(std::move(c));
      const absl::Status why =
          survived
              ? MakeError(ErrorCode::kUnavailable, "the runtime is stopping")
              : MakeError(ErrorCode::kUnavailable, "the runtime's worker died");
      for (Command& c : rest) {
        channel_.MarkTaken();
        if (c.drop) c.drop(why);
      }
      open = false;
    }
    batch.clear();
  }
  // A runtime that threw may be broken half-way; destroying it is the one
  // thing left to do with it, and it happens here, on its owner thread.
  runtime_.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_.alive = false;
    if (!survived) {
      snapshot_.diagnostics = Diagnostics();
      snapshot_.diagnostics.last_error = "the worker died: a command threw";
    }
  }
  if (options_.on_snapshot) options_.on_snapshot(Snapshot());
}

bool RuntimeWorker::StopRequested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool RuntimeWorker::RunOne(Command& command) {
  assert(IsOwnerThread());
  channel_.MarkTaken();
  const absl::Time now = absl::Now();
  absl::Status why_not;
  {
    // The start check: cancelled or expired while drained but not yet
    // started (one its owner could not withdraw any more).
    std::lock_guard<std::mutex> lock(mu_);
    why_not = WhyDeadWhileQueued(command, now);
    if (why_not.ok()) {
      snapshot_.running_operation = command.operation;
      snapshot_.running_request_id = command.request_id;
      running_cancel_ = command.cancel;
      running_since_ = now;
    } else {
      ++snapshot_.commands_dropped;
    }
  }
  if (!why_not.ok()) {
    if (command.drop) command.drop(why_not);
    return true;
  }
  const CommandContext context{.queue_wait = now - command.enqueued_at};
  bool survived = true;
  try {
    command.run(*runtime_, context);
  } catch (const std::exception& e) {
    survived = false;
    if (command.drop) {
      command.drop(MakeError(ErrorCode::kUnavailable,
                             StrCat("the runtime's worker died: ", e.what())));
    }
  } catch (...) {
    survived = false;
    if (command.drop) {
      command.drop(
          MakeError(ErrorCode::kUnavailable, "the runtime's worker died"));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_.running_operation.clear();
    snapshot_.running_request_id.clear();
    running_cancel_.reset();
    snapshot_.busy_time += absl::Now() - running_since_;
    ++snapshot_.commands_run;
  }
  if (survived) {
    Publish();
    if (command.after) command.after();
  }
  return survived;
}

void RuntimeWorker::Publish() {
  assert(IsOwnerThread());
  Diagnostics diagnostics = runtime_->GetDiagnostics();
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_.diagnostics = std::move(diagnostics);
  }
  if (options_.on_snapshot) options_.on_snapshot(Snapshot());
}

}  // namespace ggufd
