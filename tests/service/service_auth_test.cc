// Authentication and authorization on a real `ggufd serve` with an auth
// file: missing and unknown tokens, roles, ownership of requests (Cancel)
// and sessions, open health, admin-only channelz and reflection, the file
// read again when it changes, refusals in the metrics, and the warning for
// a server without authentication beyond loopback.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "ggufd/v1/sessions.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/service/ggufd_process.h"
#include "tests/service/security_testing.h"

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAlice[] = "alice-secret-token";
constexpr char kBob[] = "bob-secret-token";
constexpr char kAdmin[] = "admin-secret-token";

class ServiceAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "auth", "# test principals\n" +
                                 AuthLine(kAlice, "inference", "alice") +
                                 AuthLine(kBob, "inference", "bob") +
                                 AuthLine(kAdmin, "admin", "ops"));
    server_ = GgufdProcess::Start(
        {"--model", StoriesModel(), "--auth-file", dir_ / "auth"});
    ASSERT_NE(server_, nullptr);
    sessions_ = v1::Sessions::NewStub(server_->channel());
  }

  grpc::Status Tokenize(const std::string& token) {
    auto context = ContextWith(token);
    v1::TokenizeRequest request;
    request.set_text("Hello");
    v1::TokenizeResponse response;
    return server_->inference().Tokenize(context.get(), request, &response);
  }

  grpc::Status GetStatus(const std::string& token) {
    auto context = ContextWith(token);
    v1::RuntimeStatus status;
    return server_->diagnostics().GetStatus(context.get(),
                                            v1::GetStatusRequest(), &status);
  }

  GenerateResult GenerateAs(const std::string& token,
                            const v1::GenerateRequest& request) {
    auto context = ContextWith(token);
    return Generate(server_->inference(), request, context.get());
  }

  // Stalls / resumes the default runtime as the admin.
  void Stall() {
    auto context = ContextWith(kAdmin);
    v1::InjectFaultRequest request;
    request.set_fault(v1::FAULT_STALL_WORKER);
    v1::InjectFaultResponse response;
    ASSERT_TRUE(
        server_->hooks().InjectFault(context.get(), request, &response).ok());
    ASSERT_TRUE(Eventually([&] {
      auto c = ContextWith(kAdmin);
      v1::RuntimeStatus status;
      return server_->diagnostics()
                 .GetStatus(c.get(), v1::GetStatusRequest(), &status)
                 .ok() &&
             status.running_operation() == "stall";
    }));
  }
  void Resume() {
    auto context = ContextWith(kAdmin);
    v1::InjectFaultRequest request;
    request.set_fault(v1::FAULT_RESUME_WORKER);
    v1::InjectFaultResponse response;
    ASSERT_TRUE(
        server_->hooks().InjectFault(context.get(), request, &response).ok());
  }

  grpc::Status CancelAs(const std::string& token, const std::string& id,
                        v1::CancelResponse* response) {
    auto context = ContextWith(token);
    v1::CancelRequest request;
    request.set_request_id(id);
    return server_->inference().Cancel(context.get(), request, response);
  }

  std::vector<std::string> SessionsOf(const std::string& token) {
    auto context = ContextWith(token);
    v1::ListSessionsResponse response;
    const grpc::Status s = sessions_->ListSessions(
        context.get(), v1::ListSessionsRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& info : response.sessions()) ids.push_back(info.id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<GgufdProcess> server_;
  std::unique_ptr<v1::Sessions::Stub> sessions_;
};

TEST_F(ServiceAuthTest, CallsWithoutAKnownTokenAreUnauthenticated) {
  for (const std::string& token : {std::string(), std::string("wrong")}) {
    const grpc::Status s = Tokenize(token);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << token;
    EXPECT_EQ(ReasonOf(s), "UNAUTHENTICATED");
    EXPECT_EQ(ErrorCodeOf(s), 21);
  }
  // Not a bearer token at all.
  auto context = ContextWith("");
  context->AddMetadata("authorization", std::string("Basic ") + kAlice);
  v1::TokenizeRequest request;
  v1::TokenizeResponse response;
  const grpc::Status basic =
      server_->inference().Tokenize(context.get(), request, &response);
  EXPECT_EQ(basic.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(basic.error_message(), HasSubstr("Bearer"));
  // The token is never echoed back or logged.
  for (const std::string& line : server_->LogLines()) {
    EXPECT_THAT(line, Not(HasSubstr(kAlice)));
  }
}

TEST_F(ServiceAuthTest, RolesDecideWhichServicesACallerReaches) {
  EXPECT_TRUE(Tokenize(kAlice).ok());
  EXPECT_TRUE(Tokenize(kAdmin).ok());
  const GenerateResult generated =
      GenerateAs(kAlice, TextRequest("Once upon a time", 4));
  EXPECT_TRUE(generated.status.ok()) << generated.status.error_message();
  EXPECT_EQ(generated.finished, 1);

  const grpc::Status status = GetStatus(kAlice);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(status), "ACCESS_DENIED");
  EXPECT_EQ(ErrorCodeOf(status), 22);
  EXPECT_TRUE(GetStatus(kAdmin).ok());

  // A streaming admin method is refused before it starts.
  {
    auto context = ContextWith(kAlice);
    v1::LoadModelRequest request;
    request.set_path("stories260K.gguf");
    auto reader = server_->runtime().LoadModel(context.get(), request);
    v1::LoadModelEvent event;
    EXPECT_FALSE(reader->Read(&event));
    const grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ReasonOf(s), "ACCESS_DENIED");
  }
  {
    auto context = ContextWith(kAlice);
    v1::CreateRuntimeRequest request;
    request.set_name("mine");
    v1::RuntimeInfo info;
    EXPECT_EQ(server_->runtime()
                  .CreateRuntime(context.get(), request, &info)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    // Saving writes server files: admins only.
    auto context = ContextWith(kAlice);
    v1::SaveSessionRequest request;
    request.set_session_id("x");
    v1::SaveSessionResponse response;
    EXPECT_EQ(
        sessions_->SaveSession(context.get(), request, &response).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(ServiceAuthTest, AnInferenceCallerCancelsOnlyItsOwnRequests) {
  Stall();
  auto queue = [&](const std::string& token, const std::string& id) {
    v1::GenerateRequest request = TextRequest("Once upon a time", 8);
    request.set_request_id(id);
    return std::async(std::launch::async, [this, token, request] {
      return GenerateAs(token, request);
    });
  };
  auto alice1 = queue(kAlice, "alice-1");
  auto alice2 = queue(kAlice, "alice-2");
  auto bob1 = queue(kBob, "bob-1");
  ASSERT_TRUE(Eventually([&] {
    // All three wait behind the stall.
    auto c = ContextWith(kAdmin);
    v1::RuntimeStatus status;
    return server_->diagnostics()
               .GetStatus(c.get(), v1::GetStatusRequest(), &status)
               .ok() &&
           status.queue_depth() == 3;
  }));

  v1::CancelResponse response;
  grpc::Status s = CancelAs(kBob, "alice-1", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "ACCESS_DENIED");

  s = CancelAs(kAlice, "alice-1", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.state(), "queued");

  s = CancelAs(kAdmin, "alice-2", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(response.found());

  // An unknown id is simply not found, for anyone.
  s = CancelAs(kBob, "nobody", &response);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(response.found());

  Resume();
  EXPECT_EQ(alice1.get().status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(alice2.get().status.error_code(), grpc::StatusCode::CANCELLED);
  const GenerateResult bob = bob1.get();  // untouched by alice and admin
  EXPECT_TRUE(bob.status.ok()) << bob.status.error_message();
  EXPECT_EQ(bob.finished, 1);
}

TEST_F(ServiceAuthTest, SessionsBelongToTheCallerThatCreatedThem) {
  v1::GenerateRequest turn = TextRequest("Once upon a time", 2);
  turn.set_session_id("alice-chat");
  ASSERT_TRUE(GenerateAs(kAlice, turn).status.ok());
  // Alice continues her own session; Bob cannot, even knowing the id.
  EXPECT_TRUE(GenerateAs(kAlice, turn).status.ok());
  const GenerateResult bob_turn = GenerateAs(kBob, turn);
  EXPECT_EQ(bob_turn.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(bob_turn.status), "ACCESS_DENIED");
  turn.set_session_id("bob-chat");
  ASSERT_TRUE(GenerateAs(kBob, turn).status.ok());

  EXPECT_EQ(SessionsOf(kAlice), std::vector<std::string>{"alice-chat"});
  EXPECT_EQ(SessionsOf(kBob), std::vector<std::string>{"bob-chat"});
  EXPECT_EQ(SessionsOf(kAdmin),
            (std::vector<std::string>{"alice-chat", "bob-chat"}));

  {
    auto context = ContextWith(kBob);
    v1::ForkSessionRequest request;
    request.set_session_id("alice-chat");
    request.set_new_session_id("stolen");
    v1::SessionInfo info;
    EXPECT_EQ(
        sessions_->ForkSession(context.get(), request, &info).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto context = ContextWith(kAlice);
    v1::ForkSessionRequest request;
    request.set_session_id("alice-chat");
    request.set_new_session_id("alice-branch");
    v1::SessionInfo info;
    const grpc::Status s =
        sessions_->ForkSession(context.get(), request, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(SessionsOf(kAlice),
            (std::vector<std::string>{"alice-branch", "alice-chat"}));
  {
    auto context = ContextWith(kBob);
    v1::DeleteSessionRequest request;
    request.set_session_id("alice-chat");
    v1::DeleteSessionResponse response;
    EXPECT_EQ(sessions_->DeleteSession(context.get(), request, &response)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto context = ContextWith(kAdmin);
    v1::DeleteSessionRequest request;
    request.set_session_id("alice-chat");
    v1::DeleteSessionResponse response;
    ASSERT_TRUE(
        sessions_->DeleteSession(context.get(), request, &response).ok());
    EXPECT_TRUE(response.found());
  }
}

TEST_F(ServiceAuthTest, HealthIsOpenWithoutAToken) {
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("ggufd.v1.Inference");
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status s = server_->health().Check(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// A channelz call through the generic stub (ggufd has no channelz stubs).
grpc::Status Channelz(GgufdProcess& server, const std::string& token) {
  grpc::GenericStub stub(server.channel());
  auto context = ContextWith(token);
  grpc::ByteBuffer request;  // an empty GetTopChannelsRequest
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), "/grpc.channelz.v1.Channelz/GetTopChannels",
                 grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  return done.get_future().get();
}

TEST_F(ServiceAuthTest, ChannelzAndReflectionAreForAdmins) {
  EXPECT_EQ(Channelz(*server_, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Channelz(*server_, kAlice).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const grpc::Status admin = Channelz(*server_, kAdmin);
  EXPECT_TRUE(admin.ok()) << admin.error_message();

  const std::string grpcurl =
      std::string(GGUFD_SOURCE_DIR) + "/tools/bin/grpcurl -plaintext ";
  if (!std::filesystem::exists(std::string(GGUFD_SOURCE_DIR) +
                               "/tools/bin/grpcurl")) {
    GTEST_SKIP() << "grpcurl is missing: run deploy/setup.sh";
  }
  ShellResult r = RunShell(grpcurl + server_->address() + " list");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("Unauthenticated"));
  r = RunShell(grpcurl + "-H 'authorization: Bearer " + kAlice + "' " +
               server_->address() + " list");
  EXPECT_THAT(r.output, HasSubstr("PermissionDenied"));
  r = RunShell(grpcurl + "-H 'authorization: Bearer " + kAdmin + "' " +
               server_->address() + " list");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ggufd.v1.Inference"));
}

TEST(ServiceAuthFlagsTest, ReflectionAndChannelzCanBeTurnedOff) {
  auto server =
      GgufdProcess::Start({"--model", StoriesModel(), "--disable-reflection",
                           "--disable-channelz"});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Channelz(*server, "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Everything else still works (no auth file: everyone is admin).
  auto context = ContextWith("");
  v1::RuntimeStatus status;
  EXPECT_TRUE(server->diagnostics()
                  .GetStatus(context.get(), v1::GetStatusRequest(), &status)
                  .ok());
}

TEST_F(ServiceAuthTest, TheAuthFileIsReadAgainWhenItChanges) {
  const std::string carol = "carol-secret-token";
  EXPECT_EQ(Tokenize(carol).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Carol is added and Alice revoked.
  ReplaceFile(dir_ / "auth", AuthLine(carol, "inference", "carol") +
                                 AuthLine(kAdmin, "admin", "ops"));
  EXPECT_TRUE(Eventually([&] { return Tokenize(carol).ok(); }));
  EXPECT_EQ(Tokenize(kAlice).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A broken file keeps the last good table.
  ReplaceFile(dir_ / "auth", "this is not an auth file\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(Tokenize(carol).ok());
  bool logged = false;
  for (const std::string& line : server_->LogLines()) {
    logged |= line.find("auth file not reloaded") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

TEST_F(ServiceAuthTest, RefusalsAreCountedInMetrics) {
  (void)Tokenize("");
  (void)GetStatus(kBob);
  httplib::Client http("127.0.0.1", server_->metrics_port());
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_THAT(response->body,
              HasSubstr("ggufd_auth_denials_total{method=\"Inference/"
                        "Tokenize\",reason=\"UNAUTHENTICATED\"} 1"));
  EXPECT_THAT(response->body,
              HasSubstr("ggufd_auth_denials_total{method=\"Diagnostics/"
                        "GetStatus\",reason=\"ACCESS_DENIED\"} 1"));
  EXPECT_THAT(response->body,
              HasSubstr("ggufd_requests_total{method=\"Inference/Tokenize\","
                        "code=\"UNAUTHENTICATED\"} 1"));
}

// Starts `ggufd serve` with `args` (no --listen of the harness's), returns
// its log up to the "listening" line, and stops it.
std::vector<std::string> StartupLog(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {GgufdBinary(), "serve", "--metrics-port",
                                   "-1"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string command;
  for (const auto& a : argv) command += "'" + a + "' ";
  // The server keeps running: read its log until it listens, then stop it.
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::vector<std::string> lines;
  std::string pending;
  char buf[4096];
  bool listening = false;
  while (!listening) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    pending.append(buf, n);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      lines.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      listening |= lines.back().find("\"listening\"") != std::string::npos;
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(fds[0]);
  return lines;
}

bool Mentions(const std::vector<std::string>& lines, const std::string& s) {
  for (const auto& line : lines) {
    if (line.find(s) != std::string::npos) return true;
  }
  return false;
}

TEST(ServiceExposureTest, WarnsWithoutAuthenticationBeyondLoopback) {
  const auto open = StartupLog({"--listen", "0.0.0.0:0"});
  ASSERT_TRUE(Mentions(open, "\"listening\""));
  EXPECT_TRUE(Mentions(open, "no authentication on a non-loopback address"));

  const auto loopback = StartupLog({"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(Mentions(loopback, "\"listening\""));
  EXPECT_FALSE(Mentions(loopback, "SECURITY WARNING"));

  TempDir dir;
  WriteFile(dir / "auth", AuthLine("t", "admin", "ops"));
  const auto tokens =
      StartupLog({"--listen", "0.0.0.0:0", "--auth-file", dir / "auth"});
  ASSERT_TRUE(Mentions(tokens, "\"listening\""));
  EXPECT_FALSE(Mentions(tokens, "no authentication"));
  EXPECT_TRUE(Mentions(tokens, "bearer tokens travel in clear text"));
}

TEST(ServiceHashTokenTest, HashTokenPrintsTheAuthFileLine) {
  const ShellResult hash =
      RunShell("printf %s secret | " + GgufdBinary() + " hash-token");
  ASSERT_EQ(hash.exit_code, 0) << hash.output;
  const ShellResult reference = RunShell("printf %s secret | sha256sum");
  EXPECT_EQ(hash.output.substr(0, 64), reference.output.substr(0, 64));
  const ShellResult line =
      RunShell("echo secret | " + GgufdBinary() +
               " hash-token --role admin --name ops");  // newline dropped
  EXPECT_EQ(line.output, hash.output.substr(0, 64) + " admin ops\n");
  const ShellResult fresh = RunShell(
      GgufdBinary() + " hash-token --generate --role inference --name x");
  ASSERT_EQ(fresh.exit_code, 0);
  const std::string token = fresh.output.substr(0, fresh.output.find('\n'));
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(fresh.output.substr(token.size() + 1),
            AuthLine(token, "inference", "x"));
}

TEST(ServiceAuthFileTest, AMalformedAuthFileStopsTheServer) {
  TempDir dir;
  // A token pasted in the clear instead of its hash.
  WriteFile(dir / "auth", "plain-token admin ops\n");
  const ShellResult r = RunShell(GgufdBinary() +
                                 " serve --listen 127.0.0.1:0 --metrics-port "
                                 "-1 --auth-file " +
                                 dir / "auth");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("auth file line 1"));
  EXPECT_THAT(r.output, Not(HasSubstr("plain-token")));
}

}  // namespace
}  // namespace ggufd::testing
