#include "service/generation_stream.h"

#include <utility>

#include "service/proto_convert.h"
#include "service/service_metrics.h"

namespace ggufd {
namespace {

v1::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEos:
      return v1::FINISH_REASON_EOS;
    case FinishReason::kStopSequence:
      return v1::FINISH_REASON_STOP_SEQUENCE;
    case FinishReason::kStopToken:
      return v1::FINISH_REASON_STOP_TOKEN;
    case FinishReason::kMaxTokens:
      return v1::FINISH_REASON_MAX_TOKENS;
    case FinishReason::kContextFull:
      return v1::FINISH_REASON_CONTEXT_FULL;
    case FinishReason::kCancelled:
      return v1::FINISH_REASON_CANCELLED;
    case FinishReason::kConstraintComplete:
      return v1::FINISH_REASON_CONSTRAINT_COMPLETE;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// Events that piled up while the reader was slow: tokens go out as one
// chunk, and only the latest of several progress reports matters.
bool MergePending(v1::GenerateEvent& into, v1::GenerateEvent& next) {
  if (into.has_progress() && next.has_progress()) {
    *into.mutable_progress() = std::move(*next.mutable_progress());
    return true;
  }
  if (into.has_chunk() && next.has_chunk()) {
    v1::Chunk& chunk = *into.mutable_chunk();
    v1::Chunk& more = *next.mutable_chunk();
    chunk.mutable_text()->append(more.text());
    for (v1::Token& token : *more.mutable_tokens()) {
      *chunk.add_tokens() = std::move(token);
    }
    return true;
  }
  return false;
}

}  // namespace

GenerationStream::GenerationStream(Options options)
    : RequestHandle(options.request_id),
      options_(std::move(options)),
      events_(MergePending) {}

bool GenerationStream::BeginRun(absl::Duration queue_wait) {
  if (!MarkRunning()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  queue_wait_ms_ = absl::ToDoubleMilliseconds(queue_wait);
  run_start_ = absl::Now();
  if (options_.metrics != nullptr) {
    options_.metrics->ObserveQueueWait(options_.runtime, Seconds(queue_wait));
  }
  return true;
}

void GenerationStream::OnStarted(const StartedEvent& event) {
  v1::GenerateEvent out;
  v1::Started& started = *out.mutable_started();
  started.set_request_id(options_.request_id);
  started.set_runtime(options_.runtime);
  started.set_model(event.model);
  started.set_seed(event.seed);
  started.set_prompt_tokens(event.prompt_tokens);
  started.set_cached_tokens(event.cached_tokens);
  if (event.session_cache != SessionCache::kNone) {
    started.set_session_id(options_.session_id);
    started.set_session_cache(ToProto(event.session_cache));
    started.set_session_tokens(event.session_tokens);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    started.set_queue_wait_ms(queue_wait_ms_);
    prompt_tokens_ = event.prompt_tokens;
    ReportContextInUseLocked(prompt_tokens_);
  }
  events_.Push(std::move(out));
}

void GenerationStream::OnProgress(const ProgressEvent& event) {
  v1::GenerateEvent out;
  out.mutable_progress()->set_processed_tokens(event.processed);
  out.mutable_progress()->set_total_tokens(event.total);
  events_.Push(std::move(out));
}

void GenerationStream::OnToken(const TokenEvent& event) {
  v1::GenerateEvent out;
  v1::Chunk& chunk = *out.mutable_chunk();
  chunk.set_text(event.text);
  if (options_.token_ids || options_.token_bytes || options_.logprobs) {
    v1::Token* token = chunk.add_tokens();
    if (options_.token_ids) token->set_id(event.id);
    if (options_.token_bytes) token->set_bytes(event.bytes);
    if (options_.logprobs) {
      token->set_logprob(event.logprob);
      for (const TopLogprob& top : event.top) {
        v1::TopLogprob* t = token->add_top_logprobs();
        t->set_id(top.id);
        t->set_logprob(top.logprob);
      }
    }
  }
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.metrics != nullptr) {
      if (tokens_ == 0) {
        options_.metrics->ObserveFirstToken(options_.runtime,
                                            Seconds(now - run_start_));
      } else {
        options_.metrics->ObserveInterToken(options_.runtime,
                                            Seconds(now - last_token_));
      }
    }
    ++tokens_;
    last_token_ = now;
    ReportContextInUseLocked(prompt_tokens_ + tokens_);
  }
  events_.Push(std::move(out));
}

void GenerationStream::OnFinished(const FinishedEvent& event) {
  v1::GenerateEvent out;
  v1::Finished& finished = *out.mutable_finished();
  finished.set_reason(ToProto(event.reason));
  finished.set_stop_sequence(event.stop_sequence);
  finished.mutable_usage()->set_prompt_tokens(event.usage.prompt_tokens);
  finished.mutable_usage()->set_cached_tokens(event.usage.cached_tokens);
  finished.mutable_usage()->set_completion_tokens(
      event.usage.completion_tokens);
  v1::Timings* t = finished.mutable_timings();
  t->set_prefill_ms(event.timings.prefill_ms);
  t->set_first_token_ms(event.timings.first_token_ms);
  t->set_decode_ms(event.timings.decode_ms);
  t->set_total_ms(event.timings.total_ms);
  t->set_prefill_tokens_per_second(event.timings.prefill_tokens_per_s);
  t->set_decode_tokens_per_second(event.timings.decode_tokens_per_s);
  if (options_.metrics != nullptr) {
    options_.metrics->ObserveGeneration(options_.runtime, event.usage,
                                        event.timings);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    t->set_queue_wait_ms(queue_wait_ms_);
    usage_ = event.usage;
    ReportContextInUseLocked(0);
  }
  // Held-back text (a pending stop-string prefix that never matched) goes
  // out as a last chunk, so Finished itself carries no text.
  if (!event.text.empty()) {
    v1::GenerateEvent tail;
    tail.mutable_chunk()->set_text(event.text);
    events_.Push(std::move(tail));
  }
  events_.Push(std::move(out));
}

void GenerationStream::Complete(const absl::Status& status) {
  MarkEnded();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReportContextInUseLocked(0);  // a run that failed ends here
  }
  events_.Complete(status);
}

std::optional<Usage> GenerationStream::usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return usage_;
}

void GenerationStream::ReportContextInUseLocked(int32_t positions) {
  if (options_.metrics == nullptr) return;
  if (positions <= 0 && !holds_context_) return;
  holds_context_ = positions > 0;
  options_.metrics->load().SetContextInUse(options_.runtime, positions);
}

}  // namespace ggufd
