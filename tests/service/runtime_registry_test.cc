#include "service/runtime_registry.h"

#include <future>

#include "gtest/gtest.h"
#include "runtime/error_code.h"

namespace ggufd {
namespace {

TEST(RuntimeRegistryTest, StartsWithADefaultRuntime) {
  RuntimeRegistry registry({.queue_capacity = 8});
  auto by_empty = registry.Find("");
  auto by_name = registry.Find("default");
  ASSERT_TRUE(by_empty.ok());
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_empty->get(), by_name->get());
  EXPECT_EQ((*by_name)->Snapshot().queue_capacity, 8);
}

TEST(RuntimeRegistryTest, CreatesFindsListsAndDeletes) {
  RuntimeRegistry registry({.queue_capacity = 8});
  auto created = registry.Create("second", 3);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)->Snapshot().queue_capacity, 3);
  EXPECT_EQ(registry.Find("second")->get(), created->get());
  ASSERT_EQ(registry.List().size(), 2u);
  EXPECT_EQ(registry.List()[0]->name(), "default");
  EXPECT_EQ(registry.Create("second", 0).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.Delete("second").ok());
  EXPECT_EQ(registry.Find("second").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Delete("second").code(), absl::StatusCode::kNotFound);
  // The deleted worker refuses work.
  Command c;
  c.run = [](Runtime&, const CommandContext&) {};
  EXPECT_EQ(GetErrorCode((*created)->Post(c)), ErrorCode::kUnavailable);
}

TEST(RuntimeRegistryTest, RefusesBadNamesAndTheDefaultsDeletion) {
  RuntimeRegistry registry({.queue_capacity = 8});
  for (const char* bad : {"", "UPPER", "sp ace", "../x",
                          "a-very-long-name-that-goes-on-and-on-and-on-and-on-"
                          "and-on-past-64"}) {
    EXPECT_EQ(registry.Create(bad, 0).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(registry.Create("ok", RuntimeRegistry::kMaxQueueCapacity + 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Delete("default").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Find("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetErrorCode(registry.Find("nope").status()),
            ErrorCode::kRuntimeNotFound);
}

TEST(RuntimeRegistryTest, RuntimesRunInParallel) {
  RuntimeRegistry registry({.queue_capacity = 8});
  ASSERT_TRUE(registry.Create("other", 0).ok());
  // Each command waits for the other's: only possible if both run at once.
  std::promise<void> a_in, b_in;
  std::shared_future<void> a_seen = a_in.get_future().share();
  std::shared_future<void> b_seen = b_in.get_future().share();
  std::promise<void> a_done, b_done;
  Command a, b;
  a.run = [&](Runtime&, const CommandContext&) {
    a_in.set_value();
    b_seen.wait();
    a_done.set_value();
  };
  b.run = [&](Runtime&, const CommandContext&) {
    b_in.set_value();
    a_seen.wait();
    b_done.set_value();
  };
  ASSERT_TRUE((*registry.Find("default"))->Post(a).ok());
  ASSERT_TRUE((*registry.Find("other"))->Post(b).ok());
  a_done.get_future().wait();
  b_done.get_future().wait();
}

TEST(RuntimeRegistryTest, ADeadRuntimeCanBeReplaced) {
  RuntimeRegistry registry({.queue_capacity = 8});
  ASSERT_TRUE(registry.Create("fragile", 0).ok());
  std::promise<void> dropped;
  Command kill;
  kill.run = [](Runtime&, const CommandContext&) { throw 1; };
  kill.drop = [&](const absl::Status&) { dropped.set_value(); };
  auto fragile = *registry.Find("fragile");
  ASSERT_TRUE(fragile->Post(kill).ok());
  dropped.get_future().wait();
  while (fragile->Snapshot().alive) std::this_thread::yield();
  auto replaced = registry.Create("fragile", 0);
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE(replaced->get(), fragile.get());
  EXPECT_TRUE((*replaced)->Snapshot().alive);
}

}  // namespace
}  // namespace ggufd
