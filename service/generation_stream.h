// The buffer between one Generate running on a worker and its reader (the
// gRPC reactor, or the HTTP door): the worker (through the GenerationSink
// interface) only appends events to an EventQueue and never waits; the
// reader takes them, with tokens that piled up merged into one chunk and
// only the latest of pending progress reports. Its size is bounded by the
// request's max_tokens (and the context). As a RequestHandle it is also
// what ActiveRequests cancels.
#ifndef GGUFD_SERVICE_GENERATION_STREAM_H_
#define GGUFD_SERVICE_GENERATION_STREAM_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ggufd/v1/inference.pb.h"
#include "runtime/generation.h"
#include "service/event_queue.h"
#include "service/request_handle.h"

namespace ggufd {

class ServiceMetrics;

class GenerationStream : public RequestHandle, public GenerationSink {
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

  // One thing for the reader to do next: write an event, or finish.
  using Next = EventQueue<v1::GenerateEvent>::Next;

  explicit GenerationStream(Options options);

  // --- worker side ---
  // MarkRunning, and the queue wait for Started and the metrics.
  bool BeginRun(absl::Duration queue_wait);
  void OnStarted(const StartedEvent& event) override;
  void OnProgress(const ProgressEvent& event) override;
  void OnToken(const TokenEvent& event) override;
  void OnFinished(const FinishedEvent& event) override;
  // The end of the run (or why it never ran): OK after OnFinished, else the
  // error the call ends with. The first call wins.
  void Complete(const absl::Status& status);

  // --- any thread ---
  // (Cancel: a running generation ends with Finished{CANCELLED}.)
  // The usage of a generation that finished (for the call's load report).
  std::optional<Usage> usage() const;

  // --- reader side ---
  // Takes the next event or the final status; when there is neither yet,
  // arms `wake` (called once, on the producing thread, when something
  // arrives) and returns an empty Next.
  Next TakeOrWait(std::function<void()> wake) {
    return events_.TakeOrWait(std::move(wake));
  }
  // The reader is gone: drop further events and never wake it again.
  void Detach() { events_.Detach(); }

 private:
  // Tells the metrics how much of the runtime's context this generation
  // holds while it runs (0: none any more).
  void ReportContextInUseLocked(int32_t positions);

  const Options options_;
  EventQueue<v1::GenerateEvent> events_;

  mutable std::mutex mu_;  // guards the fields below
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
