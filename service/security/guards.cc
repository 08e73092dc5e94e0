#include <algorithm>
#include <string>

#include "runtime/session/session.h"
#include "service/runtime_registry.h"
#include "service/security/guarded_services.h"

namespace ggufd::security {
namespace {

// Owner entries are looked over this often, and kept this long past the
// session TTL so a turn that outlives the TTL keeps its owner.
constexpr absl::Duration kPruneEvery = absl::Minutes(1);
constexpr absl::Duration kOwnerGrace = absl::Minutes(10);

std::string RuntimeName(std::string_view name) {
  return std::string(name.empty() ? RuntimeRegistry::kDefaultName : name);
}

// Whether the runtime's last snapshot lists the session.
bool SessionExists(const ServiceState& state, const std::string& runtime,
                   const std::string& id) {
  auto worker = state.registry->Find(runtime);
  if (!worker.ok()) return false;
  const WorkerSnapshot snapshot = (*worker)->Snapshot();
  const auto& sessions = snapshot.diagnostics.sessions;
  return std::any_of(sessions.begin(), sessions.end(),
                     [&](const SessionInfo& s) { return s.id == id; });
}

}  // namespace

bool Guards::Owns(const Caller& caller, std::string_view runtime,
                  std::string_view id) const {
  if (!access.enabled() || caller.admin()) return true;
  return owners.Check(RuntimeName(runtime), id, caller.name) ==
         SessionOwners::Access::kOwner;
}

absl::Status Guards::CheckGenerate(std::string_view method,
                                   const Caller& caller,
                                   const v1::GenerateRequest& request) {
  if (absl::Status s = CheckGenerateLimits(request, limits, *state.metrics);
      !s.ok()) {
    return s;
  }
  if (request.session_id().empty()) return absl::OkStatus();
  return UseSession(method, caller, request.runtime(), request.session_id(),
                    /*create=*/true);
}

absl::Status Guards::UseSession(std::string_view method, const Caller& caller,
                                std::string_view runtime_name,
                                std::string_view id, bool create) {
  if (!access.enabled()) return absl::OkStatus();
  // A malformed id is refused by the handler; nothing to claim.
  if (!session::ValidateSessionId(id, "session_id").ok()) {
    return absl::OkStatus();
  }
  const std::string runtime = RuntimeName(runtime_name);
  const absl::Time now = absl::Now();
  if (owners.PruneDue(now, kPruneEvery)) {
    owners.Prune(now, absl::Seconds(state.sessions.ttl_seconds) + kOwnerGrace,
                 [this](const std::string& r, const std::string& i) {
                   return SessionExists(state, r, i);
                 });
  }
  const std::string session(id);
  switch (owners.Check(runtime, session, caller.name)) {
    case SessionOwners::Access::kOwner:
      owners.Claim(runtime, session, caller.name, now);  // marks it used
      return absl::OkStatus();
    case SessionOwners::Access::kOther:
      if (caller.admin()) return absl::OkStatus();
      return access.Deny(method, caller,
                         "the session belongs to another caller");
    case SessionOwners::Access::kUnclaimed:
      break;
  }
  const bool exists = SessionExists(state, runtime, session);
  if (exists && !caller.admin()) {
    return access.Deny(method, caller,
                       "the session was not created by this caller");
  }
  if (create || exists) {
    // Another caller may have claimed it since the check.
    if (owners.Claim(runtime, session, caller.name, now) ==
            SessionOwners::Access::kOther &&
        !caller.admin()) {
      return access.Deny(method, caller,
                         "the session belongs to another caller");
    }
  }
  return absl::OkStatus();
}

}  // namespace ggufd::security
