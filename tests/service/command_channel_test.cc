#include "service/command_channel.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/error_code.h"

namespace ggufd {
namespace {

Command Named(std::string name) {
  Command c;
  c.operation = std::move(name);
  return c;
}

TEST(CommandChannelTest, HandsOutCommandsOneAtATimeInOrder) {
  CommandChannel channel(4);
  for (const char* name : {"a", "b", "c"}) {
    Command c = Named(name);
    ASSERT_TRUE(channel.Push(c).ok());
  }
  EXPECT_EQ(channel.waiting(), 3u);
  std::vector<Command> batch;
  ASSERT_TRUE(channel.WaitAndDrain(batch));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].operation, "a");
  // Taken but not yet started still counts against the capacity.
  EXPECT_EQ(channel.waiting(), 3u);
  channel.MarkTaken();
  batch.clear();
  ASSERT_TRUE(channel.WaitAndDrain(batch));
  EXPECT_EQ(batch[0].operation, "b");
  // Closing hands over everything still queued.
  channel.Close();
  batch.clear();
  EXPECT_FALSE(channel.WaitAndDrain(batch));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].operation, "c");
}

TEST(CommandChannelTest, CancelledOrExpiredCommandsGiveTheirPlaceBack) {
  CommandChannel channel(2);
  Command a = Named("a"), b = Named("b");
  a.cancel = std::make_shared<CancelToken>();
  absl::Status a_dropped, b_dropped;
  a.drop = [&](const absl::Status& why) { a_dropped = why; };
  b.deadline = absl::Now() + absl::Milliseconds(20);
  b.drop = [&](const absl::Status& why) { b_dropped = why; };
  std::shared_ptr<CancelToken> a_cancel = a.cancel;
  ASSERT_TRUE(channel.Push(a).ok());
  ASSERT_TRUE(channel.Push(b).ok());
  Command c = Named("c");
  EXPECT_EQ(GetErrorCode(channel.Push(c)), ErrorCode::kQueueFull);
  // Both die while queued: the full queue has room again at once, and
  // their owners hear why.
  a_cancel->Cancel();
  absl::SleepFor(absl::Milliseconds(30));
  ASSERT_TRUE(channel.Push(c).ok());
  EXPECT_EQ(GetErrorCode(a_dropped), ErrorCode::kCancelled);
  EXPECT_EQ(GetErrorCode(b_dropped), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(channel.waiting(), 1u);
  EXPECT_EQ(channel.purged(), 2u);
  std::vector<Command> batch;
  ASSERT_TRUE(channel.WaitAndDrain(batch));
  EXPECT_EQ(batch[0].operation, "c");
}

TEST(CommandChannelTest, WithdrawDropsACancelledCommandOnTheCallersThread) {
  CommandChannel channel(4);
  Command a = Named("a"), b = Named("b");
  auto token = std::make_shared<CancelToken>();
  a.cancel = token;
  absl::Status dropped;
  std::thread::id dropped_on;
  a.drop = [&](const absl::Status& why) {
    dropped = why;
    dropped_on = std::this_thread::get_id();
  };
  ASSERT_TRUE(channel.Push(a).ok());
  ASSERT_TRUE(channel.Push(b).ok());
  // A command that can still run stays.
  EXPECT_FALSE(channel.Withdraw(*token));
  EXPECT_EQ(channel.waiting(), 2u);
  token->Cancel();
  EXPECT_TRUE(channel.Withdraw(*token));
  EXPECT_EQ(GetErrorCode(dropped), ErrorCode::kCancelled);
  EXPECT_EQ(dropped.message(), "cancelled while queued");
  EXPECT_EQ(dropped_on, std::this_thread::get_id());
  EXPECT_EQ(channel.waiting(), 1u);
  EXPECT_EQ(channel.purged(), 1u);
  EXPECT_FALSE(channel.Withdraw(*token));  // gone already
  std::vector<Command> batch;
  ASSERT_TRUE(channel.WaitAndDrain(batch));
  EXPECT_EQ(batch[0].operation, "b");
}

TEST(CommandChannelTest, ACommandCancelledBeforeItArrivesIsDroppedAtOnce) {
  CommandChannel channel(1);
  Command a = Named("a");
  a.cancel = std::make_shared<CancelToken>();
  a.cancel->Cancel();
  absl::Status dropped;
  a.drop = [&](const absl::Status& why) { dropped = why; };
  // Accepted (the owner hears through its drop), and never queued.
  EXPECT_TRUE(channel.Push(a).ok());
  EXPECT_EQ(GetErrorCode(dropped), ErrorCode::kCancelled);
  EXPECT_EQ(channel.waiting(), 0u);
  EXPECT_EQ(channel.purged(), 1u);
  Command b = Named("b");
  EXPECT_TRUE(channel.Push(b).ok());
}

TEST(CommandChannelTest, RefusesWhenFullAndLeavesTheCommandWithTheCaller) {
  CommandChannel channel(2);
  Command a = Named("a"), b = Named("b"), c = Named("c");
  c.drop = [](const absl::Status&) {};
  ASSERT_TRUE(channel.Push(a).ok());
  ASSERT_TRUE(channel.Push(b).ok());
  const absl::Status full = channel.Push(c);
  EXPECT_EQ(GetErrorCode(full), ErrorCode::kQueueFull);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(c.operation, "c");
  EXPECT_TRUE(c.drop);
  // A drained command frees its place only once it is taken.
  std::vector<Command> batch;
  ASSERT_TRUE(channel.WaitAndDrain(batch));
  EXPECT_EQ(GetErrorCode(channel.Push(c)), ErrorCode::kQueueFull);
  channel.MarkTaken();
  EXPECT_TRUE(channel.Push(c).ok());
}

TEST(CommandChannelTest, CloseRefusesPushesAndWakesTheConsumer) {
  CommandChannel channel(4);
  std::vector<Command> batch;
  std::thread consumer([&] { EXPECT_FALSE(channel.WaitAndDrain(batch)); });
  channel.Close();
  consumer.join();
  Command c = Named("late");
  EXPECT_EQ(GetErrorCode(channel.Push(c)), ErrorCode::kUnavailable);
}

TEST(CommandChannelTest, ManyProducersOneConsumerLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 500;
  CommandChannel channel(16);
  std::atomic<int> accepted{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPerProducer; ++i) {
        Command c = Named("x");
        while (!channel.Push(c).ok()) std::this_thread::yield();
        accepted.fetch_add(1);
      }
    });
  }
  int taken = 0;
  std::vector<Command> batch;
  while (taken < kProducers * kPerProducer) {
    ASSERT_TRUE(channel.WaitAndDrain(batch));
    EXPECT_LE(batch.size(), 16u);
    for (size_t i = 0; i < batch.size(); ++i) channel.MarkTaken();
    taken += static_cast<int>(batch.size());
    batch.clear();
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(taken, accepted.load());
  EXPECT_EQ(channel.waiting(), 0u);
}

}  // namespace
}  // namespace ggufd
