#include "service/generation_stream.h"

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/error_code.h"
#include "service/runtime_worker.h"

namespace ggufd {
namespace {

GenerationStream::Options Opts() {
  return {.request_id = "r1", .runtime = "default", .token_ids = true};
}

TokenEvent Token(int id, std::string text) {
  return {.id = id, .bytes = text, .text = text};
}

TEST(GenerationStreamTest, MergesPendingTokensIntoOneChunk) {
  GenerationStream stream(Opts());
  ASSERT_TRUE(stream.BeginRun(absl::Milliseconds(3)));
  stream.OnStarted({.model = "m", .seed = 7, .prompt_tokens = 2});
  stream.OnProgress({.processed = 1, .total = 2});
  stream.OnProgress({.processed = 2, .total = 2});
  stream.OnToken(Token(5, "He"));
  stream.OnToken(Token(6, ""));  // half a character: no text yet
  stream.OnToken(Token(7, "llo"));
  stream.OnFinished({.reason = FinishReason::kMaxTokens,
                     .text = "!",
                     .usage = {.prompt_tokens = 2, .completion_tokens = 3}});
  stream.Complete(absl::OkStatus());

  auto next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.event.has_value());
  EXPECT_EQ(next.event->started().request_id(), "r1");
  EXPECT_EQ(next.event->started().seed(), 7u);
  EXPECT_DOUBLE_EQ(next.event->started().queue_wait_ms(), 3.0);
  // Only the latest of the pending progress reports.
  next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.event.has_value());
  EXPECT_EQ(next.event->progress().processed_tokens(), 2);
  next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.event.has_value());
  // The held-back tail merges into the same chunk.
  EXPECT_EQ(next.event->chunk().text(), "Hello!");
  ASSERT_EQ(next.event->chunk().tokens_size(), 3);
  EXPECT_EQ(next.event->chunk().tokens(2).id(), 7);
  next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.event.has_value());
  EXPECT_EQ(next.event->finished().reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(next.event->finished().usage().completion_tokens(), 3);
  next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.finish.has_value());
  EXPECT_TRUE(next.finish->ok());
}

TEST(GenerationStreamTest, WakesAWaitingReaderOnceWhenDataArrives) {
  GenerationStream stream(Opts());
  ASSERT_TRUE(stream.BeginRun(absl::ZeroDuration()));
  int wakes = 0;
  auto next = stream.TakeOrWait([&] { ++wakes; });
  EXPECT_FALSE(next.event.has_value());
  EXPECT_FALSE(next.finish.has_value());
  stream.OnToken(Token(1, "a"));
  stream.OnToken(Token(2, "b"));
  EXPECT_EQ(wakes, 1);
  next = stream.TakeOrWait([&] { ++wakes; });
  EXPECT_EQ(next.event->chunk().text(), "ab");
}

// Holds a real worker busy until released, so a request stays queued.
class BusyWorker {
 public:
  BusyWorker() {
    Command hold;
    hold.operation = "hold";
    hold.run = [this](Runtime&, const CommandContext&) {
      entered_.set_value();
      released_.get_future().wait();
    };
    EXPECT_TRUE(worker_->Post(hold).ok());
    entered_.get_future().wait();
  }
  ~BusyWorker() { Release(); }
  void Release() {
    if (!released_once_.exchange(true)) released_.set_value();
  }
  const std::shared_ptr<RuntimeWorker>& worker() { return worker_; }

 private:
  std::promise<void> entered_;
  std::promise<void> released_;
  std::atomic<bool> released_once_{false};
  // Last: destroyed (and joined) first, while the hold still sees the above.
  std::shared_ptr<RuntimeWorker> worker_ = std::make_shared<RuntimeWorker>(
      RuntimeWorker::Options{.name = "w", .queue_capacity = 4});
};

// The command AdmitGenerate posts for `stream`, with `ran` set if it runs.
Command GenerateCommand(const std::shared_ptr<GenerationStream>& stream,
                        std::atomic<bool>& ran) {
  Command command;
  command.operation = "generate";
  command.cancel = stream->cancel_token();
  command.run = [stream, &ran](Runtime&, const CommandContext& context) {
    ran = stream->BeginRun(context.queue_wait);
  };
  command.after = [stream] { stream->Complete(absl::OkStatus()); };
  command.drop = [stream](const absl::Status& why) { stream->Complete(why); };
  return command;
}

TEST(GenerationStreamTest, CancelWhileQueuedEndsAtOnceAndNeverRuns) {
  BusyWorker busy;
  auto stream = std::make_shared<GenerationStream>(Opts());
  std::atomic<bool> ran{false};
  Command command = GenerateCommand(stream, ran);
  stream->SetWorker(busy.worker());
  ASSERT_TRUE(busy.worker()->Post(command).ok());
  int wakes = 0;
  EXPECT_FALSE(stream->TakeOrWait([&] { ++wakes; }).finish.has_value());
  // The worker is still busy with another command: the queue answers.
  EXPECT_EQ(stream->Cancel(), RequestHandle::CancelResult::kQueued);
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(stream->cancel_token()->cancelled());
  auto next = stream->TakeOrWait(nullptr);
  ASSERT_TRUE(next.finish.has_value());
  EXPECT_EQ(GetErrorCode(*next.finish), ErrorCode::kCancelled);
  EXPECT_EQ(next.finish->message(), "cancelled while queued");
  EXPECT_EQ(busy.worker()->Snapshot().queue_depth, 0);
  EXPECT_EQ(stream->Cancel(), RequestHandle::CancelResult::kNotFound);
  busy.Release();
  EXPECT_FALSE(ran);
  EXPECT_FALSE(stream->started());
}

TEST(GenerationStreamTest, CancelBeforeItIsPostedEndsItAsItArrives) {
  BusyWorker busy;
  auto stream = std::make_shared<GenerationStream>(Opts());
  std::atomic<bool> ran{false};
  Command command = GenerateCommand(stream, ran);
  stream->SetWorker(busy.worker());
  // Cancel by id can come between ActiveRequests::Add and Post.
  EXPECT_EQ(stream->Cancel(), RequestHandle::CancelResult::kQueued);
  EXPECT_FALSE(stream->TakeOrWait([] {}).finish.has_value());
  ASSERT_TRUE(busy.worker()->Post(command).ok());
  auto next = stream->TakeOrWait(nullptr);
  ASSERT_TRUE(next.finish.has_value());
  EXPECT_EQ(next.finish->message(), "cancelled while queued");
  busy.Release();
  EXPECT_FALSE(ran);
}

TEST(GenerationStreamTest, CancelWhileRunningLetsTheRunFinish) {
  auto worker = std::make_shared<RuntimeWorker>(
      RuntimeWorker::Options{.name = "w", .queue_capacity = 4});
  auto stream = std::make_shared<GenerationStream>(Opts());
  std::promise<void> entered;
  Command command;
  command.cancel = stream->cancel_token();
  command.run = [stream, &entered](Runtime&, const CommandContext& context) {
    ASSERT_TRUE(stream->BeginRun(context.queue_wait));
    entered.set_value();
    while (!stream->cancel_token()->cancelled()) std::this_thread::yield();
    stream->OnFinished({.reason = FinishReason::kCancelled});
  };
  command.after = [stream] { stream->Complete(absl::OkStatus()); };
  command.drop = [stream](const absl::Status& why) { stream->Complete(why); };
  stream->SetWorker(worker);
  ASSERT_TRUE(worker->Post(command).ok());
  entered.get_future().wait();
  EXPECT_EQ(stream->Cancel(), RequestHandle::CancelResult::kRunning);
  std::promise<void> woken;
  auto next = stream->TakeOrWait([&] { woken.set_value(); });
  if (!next.event.has_value()) {
    woken.get_future().wait();
    next = stream->TakeOrWait(nullptr);
  }
  ASSERT_TRUE(next.event.has_value());
  EXPECT_EQ(next.event->finished().reason(), v1::FINISH_REASON_CANCELLED);
}

TEST(GenerationStreamTest, CancelWhileRunningOnlySetsTheToken) {
  GenerationStream stream(Opts());
  ASSERT_TRUE(stream.BeginRun(absl::ZeroDuration()));
  EXPECT_EQ(stream.Cancel(), RequestHandle::CancelResult::kRunning);
  EXPECT_TRUE(stream.cancel_token()->cancelled());
  auto next = stream.TakeOrWait([] {});
  EXPECT_FALSE(next.finish.has_value());
  stream.Complete(absl::OkStatus());
  EXPECT_EQ(stream.Cancel(), RequestHandle::CancelResult::kNotFound);
}

TEST(GenerationStreamTest, ADetachedReaderIsNeverWokenAgain) {
  GenerationStream stream(Opts());
  ASSERT_TRUE(stream.BeginRun(absl::ZeroDuration()));
  int wakes = 0;
  stream.TakeOrWait([&] { ++wakes; });
  stream.Detach();
  stream.OnToken(Token(1, "a"));
  stream.Complete(absl::OkStatus());
  EXPECT_EQ(wakes, 0);
}

TEST(GenerationStreamTest, AnErrorAfterEventsComesAfterThem) {
  GenerationStream stream(Opts());
  ASSERT_TRUE(stream.BeginRun(absl::ZeroDuration()));
  stream.OnStarted({});
  stream.Complete(MakeError(ErrorCode::kGenerationFailed, "broke"));
  EXPECT_TRUE(stream.TakeOrWait(nullptr).event.has_value());
  auto next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.finish.has_value());
  EXPECT_EQ(GetErrorCode(*next.finish), ErrorCode::kGenerationFailed);
}

}  // namespace
}  // namespace ggufd
