// The sessions of one runtime, kept by its owner thread. The KV caches of
// idle sessions stay under a byte budget: when room is needed the least
// recently used lose their caches first (never the running one). Sessions
// idle longer than the TTL are dropped, and the count is capped.
#ifndef GGUFD_RUNTIME_SESSION_SESSION_STORE_H_
#define GGUFD_RUNTIME_SESSION_SESSION_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/session/session.h"

namespace ggufd::session {

struct StoreLimits {
  uint64_t budget_bytes = uint64_t{1} << 30;
  std::chrono::seconds ttl{3600};
  int32_t max_sessions = 1024;
};

struct StoreCounters {
  uint64_t evictions = 0;  // caches dropped to stay under the budget
  uint64_t expired = 0;    // sessions dropped by the TTL
};

class SessionStore {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SessionStore(StoreLimits limits) : limits_(limits) {}

  const StoreLimits& limits() const { return limits_; }
  void set_limits(const StoreLimits& limits) { limits_ = limits; }

  Session* Find(std::string_view id);
  // A new, empty session. At the session cap, the least recently used one
  // other than `keep` is dropped first.
  Session& Create(std::string id, const Session* keep = nullptr);
  // Adds a session built elsewhere (fork, restore), replacing one with the
  // same id.
  Session& Insert(std::unique_ptr<Session> session);
  bool Erase(std::string_view id);
  void Clear() { sessions_.clear(); }

  // Evicts caches of sessions other than `keep`, least recently used first,
  // until they hold at most budget - reserve bytes.
  void MakeRoom(const Session* keep, uint64_t reserve);
  // Drops sessions idle for longer than the TTL, except `keep`.
  void Expire(Clock::time_point now, const Session* keep = nullptr);

  void Touch(Session& session) const;

  uint64_t kv_bytes() const;
  size_t size() const { return sessions_.size(); }
  const StoreCounters& counters() const { return counters_; }
  // Most recently used first.
  std::vector<const Session*> ByRecency() const;

 private:
  Session* LeastRecentlyUsed(const Session* keep, bool with_kv) const;

  StoreLimits limits_;
  StoreCounters counters_;
  absl::flat_hash_map<std::string, std::unique_ptr<Session>> sessions_;
};

}  // namespace ggufd::session

#endif  // GGUFD_RUNTIME_SESSION_SESSION_STORE_H_
