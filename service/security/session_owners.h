// Which principal created each session, so a caller with the inference role
// reaches only its own sessions (admins reach all). Sessions live in the
// runtimes; this table lives in the service and is keyed by runtime name and
// session id. A session is claimed by the Generate or ForkSession that
// names it first, and the id stays its owner's while the session lives: an
// entry is forgotten only once its session is gone from the runtime and the
// entry has been idle for longer than a session may idle.
#ifndef GGUFD_SERVICE_SECURITY_SESSION_OWNERS_H_
#define GGUFD_SERVICE_SECURITY_SESSION_OWNERS_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"

namespace ggufd::security {

class SessionOwners {
 public:
  enum class Access {
    kOwner,      // `name` owns it
    kOther,      // another principal owns it
    kUnclaimed,  // nobody has claimed it
  };

  // Who holds (`runtime`, `id`) relative to `name`.
  Access Check(std::string_view runtime, std::string_view id,
               std::string_view name) const;

  // Makes `name` the owner of an unclaimed (`runtime`, `id`) and marks the
  // entry used when `name` owns it; returns the access it found (an entry
  // owned by another is left alone).
  Access Claim(std::string_view runtime, std::string_view id,
               std::string_view name, absl::Time now);

  // Forgets entries unused for longer than `idle` whose sessions `live`
  // says are gone.
  void Prune(absl::Time now, absl::Duration idle,
             const std::function<bool(const std::string& runtime,
                                      const std::string& id)>& live);

  // True at most once per `every`: whether the caller should Prune now.
  bool PruneDue(absl::Time now, absl::Duration every);

  size_t size() const;

 private:
  struct Entry {
    std::string owner;
    absl::Time used;
  };
  using Key = std::pair<std::string, std::string>;  // runtime, id

  mutable std::mutex mu_;
  std::map<Key, Entry, std::less<>> entries_;
  absl::Time last_prune_ = absl::InfinitePast();
};

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_SESSION_OWNERS_H_
