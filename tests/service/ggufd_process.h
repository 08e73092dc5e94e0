// Runs a real `ggufd serve` on 127.0.0.1 (port 0: the kernel picks a free
// one, read back from the "listening" log line) for end-to-end tests, with
// stubs for every service and helpers for the common calls.
#ifndef GGUFD_TESTS_SERVICE_GGUFD_PROCESS_H_
#define GGUFD_TESTS_SERVICE_GGUFD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ggufd/v1/diagnostics.grpc.pb.h"
#include "ggufd/v1/inference.grpc.pb.h"
#include "ggufd/v1/runtime.grpc.pb.h"
#include "ggufd/v1/testing.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ggufd::testing {

// Runs `command` with sh, capturing stdout and stderr.
struct ShellResult {
  int exit_code = -1;
  std::string output;
};
ShellResult RunShell(const std::string& command);

// Paths of the binaries and models the tests use.
std::string GgufdBinary();
std::string GgufctlBinary();
std::string StoriesModel();  // fast: stories260K
std::string SmolLmModel();   // the default, realistic model

class GgufdProcess {
 public:
  // Starts `ggufd serve` with the test hooks on and `args` appended; fails
  // the test (returns null) if it does not come up.
  static std::unique_ptr<GgufdProcess> Start(std::vector<std::string> args);
  ~GgufdProcess();

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::string address() const;
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits for the exit; returns the exit status
  // (or 128 + signal when killed by one).
  int StopWith(int signal);
  // Everything logged so far (one JSON object per line).
  std::vector<std::string> LogLines();

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::Inference::Stub& inference() { return *inference_; }
  v1::Runtime::Stub& runtime() { return *runtime_; }
  v1::Diagnostics::Stub& diagnostics() { return *diagnostics_; }
  v1::TestHooks::Stub& hooks() { return *hooks_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }

 private:
  GgufdProcess() = default;
  void ReadLog(int fd);

  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = -1;
  std::thread log_reader_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  bool exited_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> inference_;
  std::unique_ptr<v1::Runtime::Stub> runtime_;
  std::unique_ptr<v1::Diagnostics::Stub> diagnostics_;
  std::unique_ptr<v1::TestHooks::Stub> hooks_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// What one Generate call returned.
struct GenerateResult {
  grpc::Status status;
  std::vector<v1::GenerateEvent> events;
  std::string text;  // the chunks' text, concatenated
  int started = 0;
  int finished = 0;
  v1::Finished last;  // the Finished event, if any
};

// Runs a Generate to the end. `on_event` (optional) sees each event as it
// arrives; `context` lets the caller cancel or set a deadline.
GenerateResult Generate(
    v1::Inference::Stub& stub, const v1::GenerateRequest& request,
    grpc::ClientContext* context = nullptr,
    const std::function<void(const v1::GenerateEvent&)>& on_event = nullptr);

// A Generate request for `text` with greedy sampling and `max_tokens`.
v1::GenerateRequest TextRequest(const std::string& text, int max_tokens,
                                const std::string& runtime = "");

// Loads `path` (inside the server's model dir) into `runtime`.
grpc::Status Load(GgufdProcess& server, const std::string& runtime,
                  const std::string& path, int context_length = 0);

// The ErrorInfo "error_code" of a failed call (-1 when absent).
int ErrorCodeOf(const grpc::Status& status);
// Whether the status carries RetryInfo / a BadRequest violation on `field`.
bool HasRetryInfo(const grpc::Status& status);
bool HasFieldViolation(const grpc::Status& status, const std::string& field);

// GetStatus of `runtime`, fresh from the runtime itself when `fresh`.
v1::RuntimeStatus Status(GgufdProcess& server, const std::string& runtime,
                         bool fresh = false);

// Stalls `runtime`'s worker until Resume (or 60 s).
void Stall(GgufdProcess& server, const std::string& runtime);
void Resume(GgufdProcess& server);

// Polls `condition` every 10 ms for up to 30 s; false if it never held.
bool Eventually(const std::function<bool()>& condition);

}  // namespace ggufd::testing

#endif  // GGUFD_TESTS_SERVICE_GGUFD_PROCESS_H_
