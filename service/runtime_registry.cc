#include "service/runtime_registry.h"

#include <algorithm>
#include <utility>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "service/status_mapping.h"

namespace ggufd {

bool IsValidRuntimeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

RuntimeRegistry::RuntimeRegistry(Options options)
    : options_(std::move(options)) {
  workers_.emplace(std::string(kDefaultName),
                   StartWorker(std::string(kDefaultName), 0));
}

RuntimeRegistry::~RuntimeRegistry() {
  StopAll();
  std::vector<std::shared_ptr<RuntimeWorker>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, worker] : workers_) all.push_back(std::move(worker));
    workers_.clear();
    for (auto& worker : stopped_) all.push_back(std::move(worker));
    stopped_.clear();
  }
  all.clear();  // the destructors join
}

std::shared_ptr<RuntimeWorker> RuntimeRegistry::StartWorker(
    const std::string& name, size_t queue_capacity) {
  return std::make_shared<RuntimeWorker>(RuntimeWorker::Options{
      .name = name,
      .queue_capacity =
          queue_capacity == 0 ? options_.queue_capacity : queue_capacity,
      .on_snapshot = options_.on_snapshot});
}

absl::StatusOr<std::shared_ptr<RuntimeWorker>> RuntimeRegistry::Find(
    std::string_view name) const {
  if (name.empty()) name = kDefaultName;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workers_.find(name);
  if (it == workers_.end()) {
    // A name may be long and arbitrary: it is not echoed back.
    return WithFieldViolation(
        ServiceError(absl::StatusCode::kNotFound, ErrorCode::kRuntimeNotFound,
                     "no runtime of that name"),
        "runtime", "no runtime of that name");
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<RuntimeWorker>> RuntimeRegistry::Create(
    const std::string& name, size_t queue_capacity) {
  if (!IsValidRuntimeName(name)) {
    return InvalidField("name", "must be 1-64 characters of [a-z0-9_-]");
  }
  if (queue_capacity > kMaxQueueCapacity) {
    return InvalidField("queue_capacity",
                        StrCat("must be at most ", kMaxQueueCapacity));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workers_.find(name);
  if (it != workers_.end()) {
    if (it->second->Snapshot().alive) {
      return ServiceError(absl::StatusCode::kAlreadyExists,
                          ErrorCode::kInvalidArgument,
                          StrCat("runtime ", name, " exists"));
    }
    it->second->Stop();
    stopped_.push_back(std::move(it->second));
    workers_.erase(it);
  }
  const size_t most = std::min(options_.max_runtimes, kMaxRuntimes);
  if (workers_.size() >= most) {
    return ServiceError(absl::StatusCode::kResourceExhausted,
                        ErrorCode::kLimitExceeded,
                        StrCat("at most ", most, " runtimes may exist"));
  }
  auto worker = StartWorker(name, queue_capacity);
  workers_.emplace(name, worker);
  return worker;
}

absl::Status RuntimeRegistry::Delete(std::string_view name) {
  if (name.empty() || name == kDefaultName) {
    return InvalidField("name", "the default runtime cannot be deleted");
  }
  std::shared_ptr<RuntimeWorker> worker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = workers_.find(name);
    if (it == workers_.end()) {
      return WithFieldViolation(
          ServiceError(absl::StatusCode::kNotFound, ErrorCode::kRuntimeNotFound,
                       "no runtime of that name"),
          "name", "no runtime of that name");
    }
    worker = std::move(it->second);
    workers_.erase(it);
    stopped_.push_back(worker);
  }
  worker->Stop();
  return absl::OkStatus();
}

std::vector<std::shared_ptr<RuntimeWorker>> RuntimeRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<RuntimeWorker>> out;
  for (const auto& [name, worker] : workers_) out.push_back(worker);
  return out;
}

void RuntimeRegistry::StopAll() {
  for (const auto& worker : List()) worker->Stop();
}

}  // namespace ggufd
