// The Generate and Embed requests in flight (queued or running), by
// request id, so Cancel(request_id) can reach them on any runtime. Each
// remembers who made it (the principal's name, "" without authentication), so
// callers limited to their own requests cannot cancel anyone else's.
#ifndef GGUFD_SERVICE_ACTIVE_REQUESTS_H_
#define GGUFD_SERVICE_ACTIVE_REQUESTS_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "service/request_handle.h"

namespace ggufd {

class ActiveRequests {
 public:
  // ALREADY_EXISTS (error code 1) when the id is in flight already.
  absl::Status Add(std::shared_ptr<RequestHandle> stream,
                   std::string owner = {});
  // Forgets `stream` (only if it is still the one registered under its id).
  void Remove(const RequestHandle& stream);
  RequestHandle::CancelResult Cancel(std::string_view request_id);
  // Cancel for a caller limited to its own requests: nullopt (nothing done)
  // when the request belongs to another owner.
  std::optional<RequestHandle::CancelResult> CancelOwned(
      std::string_view request_id, std::string_view owner);
  // Cancels everything (shutdown after the grace period).
  void CancelAll();
  size_t size() const;

  // A fresh id: "req-" and 16 hex digits.
  static std::string NewRequestId();

 private:
  struct Entry {
    std::shared_ptr<RequestHandle> stream;
    std::string owner;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> streams_;
};

// Whether `id` is an acceptable client request id: 1-128 of
// [A-Za-z0-9._:-].
bool IsValidRequestId(std::string_view id);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_ACTIVE_REQUESTS_H_
