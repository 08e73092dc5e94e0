#include "service/active_requests.h"

#include <random>
#include <vector>

#include "absl/strings/str_format.h"
#include "runtime/error_code.h"
#include "service/status_mapping.h"

namespace ggufd {

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ActiveRequests::NewRequestId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return absl::StrFormat("req-%016x", rng());
}

absl::Status ActiveRequests::Add(std::shared_ptr<RequestHandle> stream,
                                 std::string owner) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = stream->request_id();
  auto [it, inserted] = streams_.emplace(
      std::move(id),
      Entry{.stream = std::move(stream), .owner = std::move(owner)});
  if (!inserted) {
    return ServiceError(absl::StatusCode::kAlreadyExists,
                        ErrorCode::kInvalidArgument,
                        "a request with this request_id is in flight");
  }
  return absl::OkStatus();
}

void ActiveRequests::Remove(const RequestHandle& stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream.request_id());
  if (it != streams_.end() && it->second.stream.get() == &stream) {
    streams_.erase(it);
  }
}

RequestHandle::CancelResult ActiveRequests::Cancel(
    std::string_view request_id) {
  std::shared_ptr<RequestHandle> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(request_id);
    if (it == streams_.end()) return RequestHandle::CancelResult::kNotFound;
    stream = it->second.stream;
  }
  return stream->Cancel();
}

std::optional<RequestHandle::CancelResult> ActiveRequests::CancelOwned(
    std::string_view request_id, std::string_view owner) {
  std::shared_ptr<RequestHandle> stream;
  {
    // Checked and taken under one lock: the stream cancelled is the one
    // whose owner was checked, even if the id is reused right after.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(request_id);
    if (it == streams_.end()) return RequestHandle::CancelResult::kNotFound;
    if (it->second.owner != owner) return std::nullopt;
    stream = it->second.stream;
  }
  return stream->Cancel();
}

void ActiveRequests::CancelAll() {
  std::vector<std::shared_ptr<RequestHandle>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, entry] : streams_) all.push_back(entry.stream);
  }
  for (const auto& stream : all) stream->Cancel();
}

size_t ActiveRequests::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

}  // namespace ggufd
