// What ActiveRequests holds for a request in flight, whatever its kind
// (a generation or an embedding): its id, the cancel token its run polls,
// the worker its command was posted to, and whether it is queued, running
// or over. Cancel is the one place a client's cancel acts on a request.
#ifndef GGUFD_SERVICE_REQUEST_HANDLE_H_
#define GGUFD_SERVICE_REQUEST_HANDLE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/cancel_token.h"
#include "service/runtime_worker.h"

namespace ggufd {

class RequestHandle {
 public:
  explicit RequestHandle(std::string request_id)
      : request_id_(std::move(request_id)) {}
  virtual ~RequestHandle() = default;
  RequestHandle(const RequestHandle&) = delete;
  RequestHandle& operator=(const RequestHandle&) = delete;

  const std::string& request_id() const { return request_id_; }
  const std::shared_ptr<CancelToken>& cancel_token() const { return cancel_; }

  // The worker the request's command is posted to (set before posting):
  // Cancel asks it to withdraw the command.
  void SetWorker(std::weak_ptr<RuntimeWorker> worker);

  // Called by the worker when it starts the command (it decided already
  // that it runs); false only if the request ended before.
  bool MarkRunning();
  // Whether the worker began running it (false while queued or dropped).
  bool started() const;

  // The request is over (answered, failed or dropped); the first call
  // returns true. A later Cancel finds nothing to do.
  bool MarkEnded() { return !ended_.exchange(true); }
  bool ended() const { return ended_.load(); }

  enum class CancelResult { kNotFound, kQueued, kRunning };
  // Sets the cancel token and asks the worker to withdraw the command: a
  // request still queued ends at once with its drop's CANCELLED (error
  // code 8, "cancelled while queued"); a running one stops within one
  // token (or batch) and ends as its kind says.
  CancelResult Cancel();

 private:
  const std::string request_id_;
  const std::shared_ptr<CancelToken> cancel_ = std::make_shared<CancelToken>();
  std::atomic<bool> ended_{false};
  mutable std::mutex mu_;  // guards the fields below
  std::weak_ptr<RuntimeWorker> worker_;
  bool started_ = false;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_REQUEST_HANDLE_H_
