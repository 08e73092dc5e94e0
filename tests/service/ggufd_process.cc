#include "tests/service/ggufd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ggufd::testing {

ShellResult RunShell(const std::string& command) {
  ShellResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    result.output.append(buf.data(), n);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string GgufdBinary() {
  return std::string(GGUFD_BINARY_DIR) + "/service/ggufd";
}
std::string GgufctlBinary() {
  return std::string(GGUFD_BINARY_DIR) + "/clients/cpp/ggufctl";
}
std::string StoriesModel() {
  return std::string(GGUFD_TESTDATA_DIR) + "/models/stories260K.gguf";
}
std::string SmolLmModel() {
  return std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::unique_ptr<GgufdProcess> GgufdProcess::Start(
    std::vector<std::string> args) {
  std::unique_ptr<GgufdProcess> self(new GgufdProcess());
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return nullptr;
  std::vector<std::string> argv = {
      GgufdBinary(),    "serve", "--listen",           "127.0.0.1:0",
      "--metrics-port", "0",     "--enable-test-hooks"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    // The server dies with the test, even when the test is killed (a
    // sanitizer's halt_on_error skips destructors).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(pipe_fds[1], STDERR_FILENO);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  self->pid_ = pid;
  self->log_reader_ =
      std::thread([s = self.get(), fd = pipe_fds[0]] { s->ReadLog(fd); });
  // Wait for the "listening" line (or the process to die).
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      for (const std::string& line : self->lines_) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("msg", "") == "listening") {
          self->port_ = j.value("port", 0);
          self->metrics_port_ = j.value("metrics_port", -1);
        }
      }
      if (self->port_ > 0 || self->exited_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (self->port_ <= 0) {
    ADD_FAILURE() << "ggufd did not start; log:\n"
                  << [&] {
                       std::string all;
                       for (auto& l : self->LogLines()) all += l + "\n";
                       return all;
                     }();
    return nullptr;
  }
  self->channel_ =
      grpc::CreateChannel(self->address(), grpc::InsecureChannelCredentials());
  self->inference_ = v1::Inference::NewStub(self->channel_);
  self->runtime_ = v1::Runtime::NewStub(self->channel_);
  self->diagnostics_ = v1::Diagnostics::NewStub(self->channel_);
  self->hooks_ = v1::TestHooks::NewStub(self->channel_);
  self->health_ = grpc::health::v1::Health::NewStub(self->channel_);
  return self;
}

GgufdProcess::~GgufdProcess() {
  if (pid_ > 0) StopWith(SIGKILL);
  if (log_reader_.joinable()) log_reader_.join();
}

std::string GgufdProcess::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void GgufdProcess::ReadLog(int fd) {
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    pending.append(buf, n);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  exited_ = true;
}

int GgufdProcess::StopWith(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (log_reader_.joinable()) log_reader_.join();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

std::vector<std::string> GgufdProcess::LogLines() {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

GenerateResult Generate(
    v1::Inference::Stub& stub, const v1::GenerateRequest& request,
    grpc::ClientContext* context,
    const std::function<void(const v1::GenerateEvent&)>& on_event) {
  grpc::ClientContext local;
  if (context == nullptr) {
    local.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(120));
    context = &local;
  }
  GenerateResult result;
  auto reader = stub.Generate(context, request);
  v1::GenerateEvent event;
  while (reader->Read(&event)) {
    if (on_event) on_event(event);
    if (event.has_started()) ++result.started;
    if (event.has_chunk()) result.text += event.chunk().text();
    if (event.has_finished()) {
      ++result.finished;
      result.last = event.finished();
    }
    result.events.push_back(event);
  }
  result.status = reader->Finish();
  return result;
}

v1::GenerateRequest TextRequest(const std::string& text, int max_tokens,
                                const std::string& runtime) {
  v1::GenerateRequest request;
  request.set_runtime(runtime);
  request.set_text(text);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_stopping()->set_max_tokens(max_tokens);
  return request;
}

grpc::Status Load(GgufdProcess& server, const std::string& runtime,
                  const std::string& path, int context_length) {
  grpc::ClientContext context;
  v1::LoadModelRequest request;
  request.set_runtime(runtime);
  request.set_path(path);
  if (context_length > 0) request.set_context_length(context_length);
  auto reader = server.runtime().LoadModel(&context, request);
  v1::LoadModelEvent event;
  while (reader->Read(&event)) {
  }
  return reader->Finish();
}

namespace {

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  details.ParseFromString(status.error_details());
  return details;
}

}  // namespace

int ErrorCodeOf(const grpc::Status& status) {
  const google::rpc::Status details = Details(status);
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && info.domain() == "ggufd") {
      return std::stoi(info.metadata().at("error_code"));
    }
  }
  return -1;
}

bool HasRetryInfo(const grpc::Status& status) {
  const google::rpc::Status details = Details(status);
  for (const auto& any : details.details()) {
    if (any.Is<google::rpc::RetryInfo>()) return true;
  }
  return false;
}

bool HasFieldViolation(const grpc::Status& status, const std::string& field) {
  const google::rpc::Status details = Details(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (!any.UnpackTo(&bad)) continue;
    for (const auto& v : bad.field_violations()) {
      if (v.field() == field) return true;
    }
  }
  return false;
}

v1::RuntimeStatus Status(GgufdProcess& server, const std::string& runtime,
                         bool fresh) {
  grpc::ClientContext context;
  v1::GetStatusRequest request;
  request.set_runtime(runtime);
  request.set_fresh(fresh);
  v1::RuntimeStatus status;
  const grpc::Status s =
      server.diagnostics().GetStatus(&context, request, &status);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return status;
}

void Stall(GgufdProcess& server, const std::string& runtime) {
  grpc::ClientContext context;
  v1::InjectFaultRequest request;
  request.set_runtime(runtime);
  request.set_fault(v1::FAULT_STALL_WORKER);
  v1::InjectFaultResponse response;
  ASSERT_TRUE(server.hooks().InjectFault(&context, request, &response).ok());
  // Wait until the worker is inside the stall, not just queued.
  ASSERT_TRUE(Eventually(
      [&] { return Status(server, runtime).running_operation() == "stall"; }));
}

void Resume(GgufdProcess& server) {
  grpc::ClientContext context;
  v1::InjectFaultRequest request;
  request.set_fault(v1::FAULT_RESUME_WORKER);
  v1::InjectFaultResponse response;
  ASSERT_TRUE(server.hooks().InjectFault(&context, request, &response).ok());
}

bool Eventually(const std::function<bool()>& condition) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace ggufd::testing
