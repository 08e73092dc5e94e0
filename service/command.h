// A unit of work for one runtime: what the worker runs on its owner thread,
// and how the request learns that it never ran. Each command carries its own
// completion (closures bound to the request's state), so results never go
// through a shared queue scanned by id.
#ifndef GGUFD_SERVICE_COMMAND_H_
#define GGUFD_SERVICE_COMMAND_H_

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/cancel_token.h"

namespace ggufd {

class Runtime;

// What the worker tells a command when it starts running it.
struct CommandContext {
  absl::Duration queue_wait;  // from Post to the start of the run
};

struct Command {
  // "generate", "load", "configure", ... for status and logs.
  std::string operation;
  // The client's request id, when the operation has one.
  std::string request_id;
  // A command still queued at its deadline is dropped without running.
  absl::Time deadline = absl::InfiniteFuture();
  // Set by the request's owner; a command cancelled while queued is dropped
  // (at once when the owner withdraws it: RuntimeWorker::Withdraw), a
  // running one is expected to poll it. May be null.
  std::shared_ptr<CancelToken> cancel;
  // Runs on the worker's thread with its runtime.
  absl::AnyInvocable<void(Runtime&, const CommandContext&)> run;
  // Called after `run`, once the worker has published the snapshot that
  // shows its effect: a reply sent here is never followed by a status or
  // ListSessions read that misses what the command did. May be null.
  absl::AnyInvocable<void()> after;
  // Called instead of `run` when the command will never run (deadline,
  // cancellation, the worker stopping), with the reason. Called at most once,
  // on whichever thread learned it; must not block.
  absl::AnyInvocable<void(const absl::Status&)> drop;
  // Set by the channel when the command is accepted.
  absl::Time enqueued_at;
};

// Why a queued `command` can no longer run at `now` (cancelled, or past its
// deadline), or OK: the one place that decides, and words, "cancelled while
// queued". The worker asks before running a command, the channel when one
// arrives, when its owner withdraws it and when the queue needs room.
absl::Status WhyDeadWhileQueued(const Command& command, absl::Time now);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_COMMAND_H_
