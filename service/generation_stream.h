// The buffer between one Generate running on a worker and its gRPC stream.
// The worker (through the GenerationSink interface) only appends events and
// never waits; the gRPC side takes them, merging tokens that piled up into
// one chunk, and writes one message at a time. Its size is bounded by the
// request's max_tokens (and the context).
//
// Hand-off: when the gRPC side finds nothing to take it leaves a wake-up
// behind (SetWaiting); the next append fires it once, under the stream's
// lock, so a reader that detached can never be woken after detaching.
#ifndef GGUFD_SERVICE_GENERATION_STREAM_H_
#define GGUFD_SERVICE_GENERATION_STREAM_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ggufd/v1/inference.pb.h"
#include "runtime/cancel_token.h"
#include "runtime/generation.h"

namespace ggufd {

class ServiceMetrics;

class GenerationStream : public GenerationSink {
 public:
  struct Options {
    std::string request_id;
    std::string runtime;
    std::string session_id;
    // Which per-token data the client asked for.
    bool token_ids = false;
    bool token_bytes = false;
    bool logprobs = false;
    ServiceMetrics* metrics = nullptr;  // may be null
  };

  // One thing for the gRPC side to do next.
  struct Next {
    std::optional<v1::GenerateEvent> event;  // write this, or
    std::optional<absl::Status> finish;      // finish the call with this
  };

  explicit GenerationStream(Options options);

  const std::string& request_id() const { return options_.request_id; }
  const std::shared_ptr<CancelToken>& cancel_token() const { return cancel_; }

  // --- worker side ---
  // Called by the worker when it starts the command: false if the request
  // was cancelled while queued (it must not run then).
  bool BeginRun(absl::Duration queue_wait);
  void OnStarted(const StartedEvent& event) override;
  void OnProgress(const ProgressEvent& event) override;
  void OnToken(const TokenEvent& event) override;
  void OnFinished(const FinishedEvent& event) override;
  // The end of the run (or why it never ran): OK after OnFinished, else the
  // error the call ends with. The first call wins.
  void Complete(const absl::Status& status);

  // --- any thread ---
  enum class CancelResult { kNotFound, kQueued, kRunning };
  // Sets the cancel token. A request still queued ends at once with
  // CANCELLED (error code 8); a running one stops within one token and
  // ends with Finished{CANCELLED}.
  CancelResult Cancel();

  // Whether the worker began running it (false while queued or dropped).
  bool started() const;
  // The usage of a generation that finished (for the call's load report).
  std::optional<Usage> usage() const;

  // --- gRPC side ---
  // Takes the next message or the final status; when there is neither yet,
  // arms `wake` (called once, on the producing thread, under the lock, when
  // something arrives) and returns an empty Next.
  Next TakeOrWait(std::function<void()> wake);
  // The reader is gone: drop further events and never wake it again.
  void Detach();

 private:
  // Items as the worker produced them; merged at take time.
  struct TextItem {
    v1::Chunk chunk;
  };
  using Item = std::variant<v1::Started, v1::Progress, TextItem, v1::Finished>;

  void PushLocked(Item item);
  void WakeLocked();

  const Options options_;
  const std::shared_ptr<CancelToken> cancel_ = std::make_shared<CancelToken>();
  const absl::Time created_ = absl::Now();

  // Tells the metrics how much of the runtime's context this generation
  // holds while it runs (0: none any more).
  void ReportContextInUseLocked(int32_t positions);

  mutable std::mutex mu_;
  std::deque<Item> items_;
  std::optional<absl::Status> final_;
  std::function<void()> wake_;  // armed by a waiting reader
  bool detached_ = false;
  bool started_ = false;  // BeginRun happened
  bool cancelled_ = false;
  double queue_wait_ms_ = 0;
  // For metrics: when the run began, and the last token arrived.
  absl::Time run_start_;
  absl::Time last_token_;
  int32_t tokens_ = 0;
  int32_t prompt_tokens_ = 0;   // with a session's history
  bool holds_context_ = false;  // reported a context in use, not yet 0
  std::optional<Usage> usage_;  // once finished
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_GENERATION_STREAM_H_
