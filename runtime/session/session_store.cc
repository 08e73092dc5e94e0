#include "runtime/session/session_store.h"

#include <algorithm>

#include "runtime/common/str_cat.h"

namespace ggufd::session {

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status ValidateSessionId(std::string_view id, std::string_view field) {
  if (id.empty() || id.size() > 128) {
    return absl::InvalidArgumentError(
        StrCat(field, " must be 1 to 128 bytes long"));
  }
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          StrCat(field, " may only hold [A-Za-z0-9._:-]"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Debian's Abseil has its own string_view.
absl::string_view Key(std::string_view id) { return {id.data(), id.size()}; }

}  // namespace

Session* SessionStore::Find(std::string_view id) {
  auto it = sessions_.find(Key(id));
  return it == sessions_.end() ? nullptr : it->second.get();
}

void SessionStore::Touch(Session& session) const {
  session.last_used = Clock::now();
  session.last_used_unix_ms = UnixMillisNow();
}

Session& SessionStore::Create(std::string id, const Session* keep) {
  auto session = std::make_unique<Session>();
  session->id = std::move(id);
  session->created_unix_ms = UnixMillisNow();
  Touch(*session);
  while (sessions_.size() >= static_cast<size_t>(limits_.max_sessions)) {
    Session* victim = LeastRecentlyUsed(keep, /*with_kv=*/false);
    if (victim == nullptr) break;
    sessions_.erase(victim->id);
  }
  return Insert(std::move(session));
}

Session& SessionStore::Insert(std::unique_ptr<Session> session) {
  Session& ref = *session;
  sessions_.insert_or_assign(session->id, std::move(session));
  return ref;
}

bool SessionStore::Erase(std::string_view id) {
  auto it = sessions_.find(Key(id));
  if (it == sessions_.end()) return false;
  sessions_.erase(it);
  return true;
}

Session* SessionStore::LeastRecentlyUsed(const Session* keep,
                                         bool with_kv) const {
  Session* oldest = nullptr;
  for (const auto& [id, s] : sessions_) {
    if (s.get() == keep || (with_kv && s->kv == nullptr)) continue;
    if (oldest == nullptr || s->last_used < oldest->last_used) {
      oldest = s.get();
    }
  }
  return oldest;
}

void SessionStore::MakeRoom(const Session* keep, uint64_t reserve) {
  const uint64_t limit =
      limits_.budget_bytes > reserve ? limits_.budget_bytes - reserve : 0;
  uint64_t held = 0;
  for (const auto& [id, s] : sessions_) {
    if (s.get() != keep) held += s->kv_bytes();
  }
  while (held > limit) {
    Session* victim = LeastRecentlyUsed(keep, /*with_kv=*/true);
    if (victim == nullptr) break;
    held -= victim->kv_bytes();
    victim->kv.reset();
    victim->lost = SessionCache::kEvicted;
    ++counters_.evictions;
  }
}

void SessionStore::Expire(Clock::time_point now, const Session* keep) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const Session& s = *it->second;
    if (&s != keep && now - s.last_used > limits_.ttl) {
      sessions_.erase(it++);
      ++counters_.expired;
    } else {
      ++it;
    }
  }
}

uint64_t SessionStore::kv_bytes() const {
  uint64_t total = 0;
  for (const auto& [id, s] : sessions_) total += s->kv_bytes();
  return total;
}

std::vector<const Session*> SessionStore::ByRecency() const {
  std::vector<const Session*> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s.get());
  std::sort(out.begin(), out.end(), [](const Session* a, const Session* b) {
    return a->last_used > b->last_used;
  });
  return out;
}

}  // namespace ggufd::session
