#include "service/generation_stream.h"

#include <atomic>

#include "gtest/gtest.h"
#include "runtime/error_code.h"

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

TEST(GenerationStreamTest, CancelWhileQueuedEndsAtOnceAndNeverRuns) {
  GenerationStream stream(Opts());
  int wakes = 0;
  stream.TakeOrWait([&] { ++wakes; });
  EXPECT_EQ(stream.Cancel(), GenerationStream::CancelResult::kQueued);
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(stream.cancel_token()->cancelled());
  EXPECT_FALSE(stream.BeginRun(absl::ZeroDuration()));
  auto next = stream.TakeOrWait(nullptr);
  ASSERT_TRUE(next.finish.has_value());
  EXPECT_EQ(GetErrorCode(*next.finish), ErrorCode::kCancelled);
}

TEST(GenerationStreamTest, CancelWhileRunningOnlySetsTheToken) {
  GenerationStream stream(Opts());
  ASSERT_TRUE(stream.BeginRun(absl::ZeroDuration()));
  EXPECT_EQ(stream.Cancel(), GenerationStream::CancelResult::kRunning);
  EXPECT_TRUE(stream.cancel_token()->cancelled());
  auto next = stream.TakeOrWait([] {});
  EXPECT_FALSE(next.finish.has_value());
  stream.Complete(absl::OkStatus());
  EXPECT_EQ(stream.Cancel(), GenerationStream::CancelResult::kNotFound);
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
