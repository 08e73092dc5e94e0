#include "runtime/session/session_store.h"

#include <thread>

#include "gtest/gtest.h"

namespace ggufd::session {
namespace {

model::ModelConfig SmallConfig() {
  model::ModelConfig c;
  c.n_layer = 2;
  c.n_kv_head = 1;
  c.head_dim = 8;
  c.n_ctx = 64;
  c.kv_type = model::KvType::kF16;
  return c;
}

// A session holding `tokens` positions of cache.
Session& WithCache(SessionStore& store, const std::string& id, int tokens) {
  Session& s = store.Create(id);
  s.history.assign(tokens, 1);
  s.kv = std::make_unique<model::KvCache>(SmallConfig());
  s.kv->set_size(tokens);
  return s;
}

constexpr uint64_t kPerToken = 2 * 2 * 8 * 2;  // K+V, layers, dim, f16

TEST(SessionStoreTest, EvictsLeastRecentlyUsedCachesFirstAndKeepsHistories) {
  SessionStore store({.budget_bytes = 25 * kPerToken});
  Session& a = WithCache(store, "a", 10);
  Session& b = WithCache(store, "b", 10);
  store.Touch(a);  // b is now the least recently used
  EXPECT_EQ(store.kv_bytes(), 20 * kPerToken);
  Session& c = WithCache(store, "c", 1);
  store.MakeRoom(&c, 10 * kPerToken);
  EXPECT_EQ(b.kv, nullptr);
  EXPECT_EQ(b.lost, SessionCache::kEvicted);
  EXPECT_EQ(b.history.size(), 10u);
  EXPECT_NE(a.kv, nullptr);
  EXPECT_EQ(store.counters().evictions, 1u);
  // The session being served is never evicted for its own room, even when
  // it alone is over the budget; afterwards the budget holds again.
  store.MakeRoom(&c, 100 * kPerToken);
  EXPECT_NE(c.kv, nullptr);
  EXPECT_EQ(a.kv, nullptr);
  c.kv->set_size(30);
  store.MakeRoom(nullptr, 0);
  EXPECT_EQ(c.kv, nullptr);
  EXPECT_EQ(store.kv_bytes(), 0u);
}

TEST(SessionStoreTest, TtlDropsIdleSessionsButNotTheRunningOne) {
  SessionStore store({.ttl = std::chrono::seconds(1)});
  Session& a = store.Create("a");
  store.Create("b");
  const auto later = SessionStore::Clock::now() + std::chrono::seconds(2);
  store.Expire(later, &a);
  EXPECT_NE(store.Find("a"), nullptr);
  EXPECT_EQ(store.Find("b"), nullptr);
  EXPECT_EQ(store.counters().expired, 1u);
}

TEST(SessionStoreTest, TheCapDropsTheLeastRecentlyUsedSession) {
  SessionStore store({.max_sessions = 2});
  Session& a = store.Create("a");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  store.Create("b");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  store.Touch(a);
  store.Create("c");
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.Find("b"), nullptr);
  const std::vector<const Session*> order = store.ByRecency();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0]->id, "c");
  EXPECT_EQ(order[1]->id, "a");
}

TEST(SessionStoreTest, IdsAreShortAndPlain) {
  EXPECT_TRUE(ValidateSessionId("user-42:chat_1.x", "session_id").ok());
  EXPECT_FALSE(ValidateSessionId("", "session_id").ok());
  EXPECT_FALSE(ValidateSessionId(std::string(129, 'a'), "session_id").ok());
  EXPECT_FALSE(ValidateSessionId("a/b", "session_id").ok());
  EXPECT_FALSE(ValidateSessionId("a b", "session_id").ok());
  EXPECT_FALSE(ValidateSessionId("caf\xc3\xa9", "session_id").ok());
}

TEST(KvCacheTest, CopiesPrefixesAndGivesBackUnusedPages) {
  model::ModelConfig config = SmallConfig();
  config.n_ctx = 4096;
  model::KvCache a(config);
  for (int layer = 0; layer < 2; ++layer) {
    for (int pos = 0; pos < 3000; ++pos) {
      a.k_row(layer, pos)[0] = static_cast<uint8_t>(pos + layer);
      a.v_row(layer, pos)[0] = static_cast<uint8_t>(pos * 3 + layer);
    }
  }
  a.set_size(3000);
  model::KvCache b(config);
  b.CopyPrefix(a, 1000);
  EXPECT_EQ(b.size(), 1000);
  EXPECT_EQ(b.used_bytes(), 1000 * kPerToken);
  EXPECT_EQ(b.k_row(1, 999)[0], a.k_row(1, 999)[0]);
  EXPECT_EQ(b.v_row(0, 500)[0], a.v_row(0, 500)[0]);
  a.Truncate(100);
  a.ReleaseUnused();
  EXPECT_EQ(a.k_row(0, 99)[0], 99);  // kept
  // Whole pages past the kept rows read as zeros once given back.
  EXPECT_EQ(a.k_row(0, 2000)[0], 0);
  model::KvCache moved = std::move(a);
  EXPECT_EQ(moved.size(), 100);
  EXPECT_EQ(moved.k_row(1, 50)[0], 51);
}

}  // namespace
}  // namespace ggufd::session
