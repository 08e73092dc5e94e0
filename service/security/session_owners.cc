#include "service/security/session_owners.h"

#include <vector>

namespace ggufd::security {

SessionOwners::Access SessionOwners::Check(std::string_view runtime,
                                           std::string_view id,
                                           std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(Key(runtime, id));
  if (it == entries_.end()) return Access::kUnclaimed;
  return it->second.owner == name ? Access::kOwner : Access::kOther;
}

SessionOwners::Access SessionOwners::Claim(std::string_view runtime,
                                           std::string_view id,
                                           std::string_view name,
                                           absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = entries_.try_emplace(
      Key(runtime, id), Entry{.owner = std::string(name), .used = now});
  if (inserted) return Access::kUnclaimed;
  if (it->second.owner != name) return Access::kOther;
  it->second.used = now;
  return Access::kOwner;
}

void SessionOwners::Prune(
    absl::Time now, absl::Duration idle,
    const std::function<bool(const std::string&, const std::string&)>& live) {
  std::vector<Key> stale;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, entry] : entries_) {
      if (now - entry.used > idle) stale.push_back(key);
    }
  }
  // `live` reads runtime snapshots: called without the lock.
  for (Key& key : stale) {
    if (live(key.first, key.second)) continue;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && now - it->second.used > idle) {
      entries_.erase(it);
    }
  }
}

bool SessionOwners::PruneDue(absl::Time now, absl::Duration every) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_prune_ < every) return false;
  last_prune_ = now;
  return true;
}

size_t SessionOwners::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace ggufd::security
