// `ggufd serve --xds`: a bootstrap gRPC would not serve xDS with stops the
// server at start with a reason (instead of gRPC quietly serving without
// xDS), and a server whose control plane cannot be reached stays up, keeps
// its main port closed and serves its health-only port. Serving through a
// real control plane is tests/deploy/mesh_xds.sh.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"
#include "tests/service/security_testing.h"

extern char** environ;

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;

// A loopback port nobody listens on right now (the kernel's pick).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// A bootstrap naming a control plane at `server_uri`; `server` adds the
// Listener name template an xDS server needs.
std::string Bootstrap(const std::string& server_uri, bool server = true,
                      const std::string& creds = "insecure") {
  return R"({"xds_servers": [{"server_uri": ")" + server_uri +
         R"(", "channel_creds": [{"type": ")" + creds +
         R"("}], "server_features": ["xds_v3"]}],
  "node": {"id": "ggufd-test"})" +
         (server ? R"(, "server_listener_resource_name_template":
  "grpc/server?xds.resource.listening_address=%s")"
                 : "") +
         "}";
}

// `ggufd serve --metrics-port -1 ARGS` with GRPC_XDS_* unset.
ShellResult Serve(const std::string& args) {
  return RunShell(
      "env -u GRPC_XDS_BOOTSTRAP -u GRPC_XDS_BOOTSTRAP_CONFIG timeout 20 " +
      GgufdBinary() + " serve --metrics-port -1 " + args);
}

TEST(ServiceXdsTest, BootstrapsGrpcWouldNotServeXdsWithStopTheServer) {
  TempDir dir;
  const std::string listen =
      " --listen 127.0.0.1:" + std::to_string(FreePort()) + " --xds-bootstrap ";
  const std::string dead = "127.0.0.1:" + std::to_string(FreePort());

  // The Listener is named after the address: port 0 cannot be configured.
  WriteFile(dir / "good.json", Bootstrap(dead));
  ShellResult r = Serve("--xds --listen 127.0.0.1:0 --xds-bootstrap " +
                        (dir / "good.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("needs --listen with a fixed host:port"));

  r = Serve("--xds --listen 127.0.0.1:" + std::to_string(FreePort()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("--xds needs an xDS bootstrap"));

  r = Serve("--xds" + listen + (dir / "missing.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("cannot read the xDS bootstrap"));

  WriteFile(dir / "not-json.json", "xds_servers: []");
  r = Serve("--xds" + listen + (dir / "not-json.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not a JSON object"));

  // A client's bootstrap: gRPC would log an error and serve plainly.
  WriteFile(dir / "client.json", Bootstrap(dead, /*server=*/false));
  r = Serve("--xds" + listen + (dir / "client.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("no server_listener_resource_name_template"));

  // Valid JSON that gRPC's own bootstrap parser refuses (no such channel
  // credentials type in this gRPC): caught by asking gRPC.
  WriteFile(dir / "tls-creds.json", Bootstrap(dead, true, "tls"));
  r = Serve("--xds" + listen + (dir / "tls-creds.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("gRPC refused the xDS bootstrap"));
}

// Runs `ggufd serve ARGS` with `env` added to the environment, its log in
// `log_file`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& env,
            const std::string& log_file) {
  std::vector<std::string> argv = {GgufdBinary(), "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> envs = {env};
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  std::vector<char*> cenv;
  for (std::string& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDERR_FILENO);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  return pid;
}

TEST(ServiceXdsTest, WithoutAControlPlaneOnlyTheHealthPortServes) {
  TempDir dir;
  const std::string main_address = "127.0.0.1:" + std::to_string(FreePort());
  const std::string health_address = "127.0.0.1:" + std::to_string(FreePort());
  const std::string dead_control_plane =
      "127.0.0.1:" + std::to_string(FreePort());
  // gRPC's own variable, as a mesh's injector sets it.
  const pid_t pid =
      Spawn({"--xds", "--listen", main_address, "--health-listen",
             health_address, "--metrics-port", "-1"},
            "GRPC_XDS_BOOTSTRAP_CONFIG=" + Bootstrap(dead_control_plane),
            dir / "ggufd.log");
  ASSERT_GT(pid, 0);
  // The serving-status notifier reports the unreachable control plane.
  ASSERT_TRUE(Eventually([&] {
    return ReadFile(dir / "ggufd.log").find("\"msg\":\"xds not serving\"") !=
           std::string::npos;
  })) << ReadFile(dir / "ggufd.log");
  const std::string log = ReadFile(dir / "ggufd.log");
  EXPECT_THAT(log, HasSubstr("\"xds\":true"));
  EXPECT_THAT(log, HasSubstr(dead_control_plane));

  // The kubelet's port answers...
  auto health = grpc::health::v1::Health::NewStub(PlainChannel(health_address));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext health_context;
  health_context.set_deadline(std::chrono::system_clock::now() +
                              std::chrono::seconds(10));
  ASSERT_TRUE(health->Check(&health_context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // ...the main port, with no Listener, serves nothing.
  auto main = grpc::health::v1::Health::NewStub(PlainChannel(main_address));
  grpc::ClientContext main_context;
  main_context.set_deadline(std::chrono::system_clock::now() +
                            std::chrono::seconds(2));
  EXPECT_EQ(main->Check(&main_context, request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // Still up, and it drains and exits normally.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0) << "ggufd exited";
  kill(pid, SIGTERM);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << ReadFile(dir / "ggufd.log");
  EXPECT_THAT(ReadFile(dir / "ggufd.log"), HasSubstr("\"msg\":\"stopped\""));
}

}  // namespace
}  // namespace ggufd::testing
