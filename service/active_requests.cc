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

absl::Status ActiveRequests::Add(std::shared_ptr<GenerationStream> stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = streams_.emplace(stream->request_id(), stream);
  if (!inserted) {
    return ServiceError(absl::StatusCode::kAlreadyExists,
                        ErrorCode::kInvalidArgument,
                        "a request with this request_id is in flight");
  }
  return absl::OkStatus();
}

void ActiveRequests::Remove(const GenerationStream& stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream.request_id());
  if (it != streams_.end() && it->second.get() == &stream) streams_.erase(it);
}

GenerationStream::CancelResult ActiveRequests::Cancel(
    std::string_view request_id) {
  std::shared_ptr<GenerationStream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(request_id);
    if (it == streams_.end()) return GenerationStream::CancelResult::kNotFound;
    stream = it->second;
  }
  return stream->Cancel();
}

void ActiveRequests::CancelAll() {
  std::vector<std::shared_ptr<GenerationStream>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, stream] : streams_) all.push_back(stream);
  }
  for (const auto& stream : all) stream->Cancel();
}

size_t ActiveRequests::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

}  // namespace ggufd
