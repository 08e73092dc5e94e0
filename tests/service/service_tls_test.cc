// TLS and mTLS on a real `ggufd serve`, with certificates made at test time
// by openssl: TLS clients served and plaintext ones refused, client
// certificates required or optional, rotated certificates reaching new
// connections, the plaintext health-only port, client-certificate
// identities mapped to roles, bad certificate files stopping the server,
// and ggufctl's TLS flags.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"
#include "tests/service/security_testing.h"

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;

// A Tokenize over `channel` (a cheap call that needs a model).
grpc::Status TokenizeOver(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& token = "",
                          std::string* server_cn = nullptr) {
  auto stub = v1::Inference::NewStub(channel);
  auto context = ContextWith(token);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  v1::TokenizeRequest request;
  request.set_text("Once upon a time");
  v1::TokenizeResponse response;
  grpc::Status status = stub->Tokenize(context.get(), request, &response);
  if (server_cn != nullptr) {
    server_cn->clear();
    auto auth = context->auth_context();
    if (auth != nullptr) {
      for (const auto& cn : auth->FindPropertyValues("x509_common_name")) {
        *server_cn = std::string(cn.data(), cn.size());
      }
    }
  }
  return status;
}

class ServiceTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.IssueServer(pki_.dir().path(), "server", "ggufd-one"));
    ASSERT_TRUE(pki_.IssueClient(pki_.dir().path(), "client", "client-a",
                                 "spiffe://test/client-a"));
  }

  std::vector<std::string> TlsArgs() const {
    return {"--model",    StoriesModel(),
            "--tls-cert", pki_.dir() / "server.pem",
            "--tls-key",  pki_.dir() / "server.key"};
  }
  std::string Cert(const std::string& name) const {
    return pki_.dir() / (name + ".pem");
  }
  std::string Key(const std::string& name) const {
    return pki_.dir() / (name + ".key");
  }

  TestPki pki_;
};

TEST_F(ServiceTlsTest, ServesTlsClientsAndRefusesPlaintextOnes) {
  auto server = GgufdProcess::Start(TlsArgs());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(ListeningField(server->LogLines(), "tls"), 1);
  std::string cn;
  const grpc::Status tls =
      TokenizeOver(TlsChannel(server->address(), pki_.ca_file()), "", &cn);
  EXPECT_TRUE(tls.ok()) << tls.error_message();
  EXPECT_EQ(cn, "ggufd-one");
  const grpc::Status plain = TokenizeOver(PlainChannel(server->address()));
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plain.error_message();
  // A client that does not trust the server's CA refuses it.
  TestPki other("other");
  const grpc::Status untrusted =
      TokenizeOver(TlsChannel(server->address(), other.ca_file()));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTlsTest, RequiredClientCertificatesRefuseClientsWithoutOne) {
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(), {"--tls-client-ca", pki_.ca_file()});
  auto server = GgufdProcess::Start(args);
  ASSERT_NE(server, nullptr);
  const grpc::Status without =
      TokenizeOver(TlsChannel(server->address(), pki_.ca_file()));
  EXPECT_EQ(without.error_code(), grpc::StatusCode::UNAVAILABLE)
      << without.error_message();
  const grpc::Status with = TokenizeOver(TlsChannel(
      server->address(), pki_.ca_file(), Cert("client"), Key("client")));
  EXPECT_TRUE(with.ok()) << with.error_message();
  // A certificate from another CA is not accepted either.
  TestPki other("other");
  ASSERT_TRUE(other.IssueClient(other.dir().path(), "stranger", "stranger",
                                "spiffe://other/stranger"));
  const grpc::Status stranger = TokenizeOver(
      TlsChannel(server->address(), pki_.ca_file(),
                 other.dir() / "stranger.pem", other.dir() / "stranger.key"));
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTlsTest, OptionalClientCertificatesAcceptBoth) {
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(), {"--tls-client-ca", pki_.ca_file(),
                           "--tls-client-auth", "optional"});
  auto server = GgufdProcess::Start(args);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(TokenizeOver(TlsChannel(server->address(), pki_.ca_file())).ok());
  EXPECT_TRUE(TokenizeOver(TlsChannel(server->address(), pki_.ca_file(),
                                      Cert("client"), Key("client")))
                  .ok());
}

TEST_F(ServiceTlsTest, RotatedCertificatesReachNewConnections) {
  // The files live in a directory reached through a symlink that is swapped
  // atomically, as Kubernetes does for Secret volumes, so the watcher never
  // reads a key and a certificate of different versions.
  TempDir live;
  ASSERT_TRUE(pki_.IssueServer(live.path(), "v1", "ggufd-one"));
  ASSERT_TRUE(pki_.IssueServer(live.path(), "v2", "ggufd-two"));
  auto publish = [&](const std::string& version) {
    const std::string dir = live / ("dir-" + version);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(live / (version + ".pem"), dir + "/tls.crt");
    std::filesystem::copy_file(live / (version + ".key"), dir + "/tls.key");
    std::filesystem::create_directory_symlink(dir, live / "next");
    std::filesystem::rename(live / "next", live / "current");
  };
  publish("v1");
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--tls-cert", live / "current/tls.crt",
       "--tls-key", live / "current/tls.key", "--tls-reload-interval-s", "1"});
  ASSERT_NE(server, nullptr);
  std::string cn;
  auto first = TlsChannel(server->address(), pki_.ca_file());
  ASSERT_TRUE(TokenizeOver(first, "", &cn).ok());
  EXPECT_EQ(cn, "ggufd-one");

  publish("v2");
  bool rotated = Eventually([&] {
    std::string seen;
    return TokenizeOver(TlsChannel(server->address(), pki_.ca_file()), "",
                        &seen)
               .ok() &&
           seen == "ggufd-two";
  });
  EXPECT_TRUE(rotated) << "new connections still get the old certificate";
  // The connection made before the rotation keeps working.
  EXPECT_TRUE(TokenizeOver(first).ok());
}

TEST_F(ServiceTlsTest, HealthListenIsPlaintextAndServesOnlyHealth) {
  TempDir dir;
  WriteFile(dir / "auth", AuthLine("admin-token", "admin", "ops"));
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(),
              {"--health-listen", "127.0.0.1:0", "--auth-file", dir / "auth"});
  auto server = GgufdProcess::Start(args);
  ASSERT_NE(server, nullptr);
  const int health_port = ListeningField(server->LogLines(), "health_port");
  ASSERT_GT(health_port, 0);
  auto probe = PlainChannel("127.0.0.1:" + std::to_string(health_port));
  auto health = grpc::health::v1::Health::NewStub(probe);
  for (const char* service : {"", "ggufd.v1.Inference"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status s = health->Check(&context, request, &response);
    ASSERT_TRUE(s.ok()) << service << ": " << s.error_message();
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  // Nothing else is served there, not even to an admin.
  const grpc::Status other = TokenizeOver(probe, "admin-token");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // Health on the TLS port needs no token either.
  auto tls_health = grpc::health::v1::Health::NewStub(
      TlsChannel(server->address(), pki_.ca_file()));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(
      tls_health
          ->Check(&context, grpc::health::v1::HealthCheckRequest(), &response)
          .ok());

  // A drain turns the probe NOT_SERVING while work may still finish: keep a
  // request queued behind a stalled worker, then SIGTERM.
  auto admin = TlsChannel(server->address(), pki_.ca_file());
  {
    auto c = ContextWith("admin-token");
    v1::InjectFaultRequest stall;
    stall.set_fault(v1::FAULT_STALL_WORKER);
    stall.set_stall_ms(1500);
    v1::InjectFaultResponse done;
    ASSERT_TRUE(
        v1::TestHooks::NewStub(admin)->InjectFault(c.get(), stall, &done).ok());
  }
  auto inference = v1::Inference::NewStub(admin);
  auto queued_context = ContextWith("admin-token");
  auto queued = std::async(std::launch::async, [&] {
    return Generate(*inference, TextRequest("Once", 2), queued_context.get());
  });
  ASSERT_TRUE(Eventually([&] {
    auto c = ContextWith("admin-token");
    v1::RuntimeStatus status;
    return v1::Diagnostics::NewStub(admin)
               ->GetStatus(c.get(), v1::GetStatusRequest(), &status)
               .ok() &&
           status.queue_depth() == 1;
  }));
  kill(server->pid(), SIGTERM);
  EXPECT_TRUE(Eventually([&] {
    grpc::ClientContext c;
    grpc::health::v1::HealthCheckResponse r;
    return health->Check(&c, grpc::health::v1::HealthCheckRequest(), &r).ok() &&
           r.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }));
  EXPECT_TRUE(queued.get().status.ok());  // the grace period let it finish
  server->StopWith(SIGTERM);
}

TEST_F(ServiceTlsTest, ClientCertificateIdentityMapsToARole) {
  ASSERT_TRUE(pki_.IssueClient(pki_.dir().path(), "unlisted", "unlisted",
                               "spiffe://test/unlisted"));
  TempDir dir;
  WriteFile(dir / "auth", "cert:spiffe://test/client-a inference web\n" +
                              AuthLine("admin-token", "admin", "ops"));
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(),
              {"--tls-client-ca", pki_.ca_file(), "--tls-client-auth",
               "optional", "--auth-file", dir / "auth"});
  auto server = GgufdProcess::Start(args);
  ASSERT_NE(server, nullptr);
  auto listed = TlsChannel(server->address(), pki_.ca_file(), Cert("client"),
                           Key("client"));
  EXPECT_TRUE(TokenizeOver(listed).ok());
  // The certificate's role is inference: the admin services are refused.
  auto diagnostics = v1::Diagnostics::NewStub(listed);
  auto context = ContextWith("");
  v1::RuntimeStatus status;
  const grpc::Status refused =
      diagnostics->GetStatus(context.get(), v1::GetStatusRequest(), &status);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(refused), "ACCESS_DENIED");
  // A valid certificate that the auth file does not list is not enough...
  auto unlisted = TlsChannel(server->address(), pki_.ca_file(),
                             Cert("unlisted"), Key("unlisted"));
  const grpc::Status unknown = TokenizeOver(unlisted);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(unknown), "UNAUTHENTICATED");
  // ...but a token works over that connection, and wins over the cert.
  EXPECT_TRUE(TokenizeOver(unlisted, "admin-token").ok());
}

TEST_F(ServiceTlsTest, BadCertificateFilesStopTheServerAtStart) {
  ASSERT_TRUE(pki_.IssueServer(pki_.dir().path(), "second", "ggufd-two"));
  // A key that belongs to another certificate.
  const ShellResult mismatched = RunShell(
      GgufdBinary() + " serve --listen 127.0.0.1:0 --metrics-port -1 " +
      "--tls-cert " + Cert("server") + " --tls-key " + Key("second"));
  EXPECT_EQ(mismatched.exit_code, 1);
  EXPECT_THAT(mismatched.output, HasSubstr("does not belong to the"));
  const ShellResult missing = RunShell(
      GgufdBinary() + " serve --listen 127.0.0.1:0 --metrics-port -1 " +
      "--tls-cert " + Cert("server") + " --tls-key " + Key("server") +
      " --tls-client-ca " + pki_.dir() / "nope.pem");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("cannot read the client CA"));
}

TEST_F(ServiceTlsTest, GgufctlSpeaksTlsMutualTlsAndTokens) {
  TempDir dir;
  WriteFile(dir / "auth", AuthLine("alice-token", "inference", "alice") +
                              "cert:spiffe://test/client-a admin web\n");
  WriteFile(dir / "token", "alice-token\n");
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(),
              {"--tls-client-ca", pki_.ca_file(), "--tls-client-auth",
               "optional", "--auth-file", dir / "auth"});
  auto server = GgufdProcess::Start(args);
  ASSERT_NE(server, nullptr);
  const std::string ctl =
      GgufctlBinary() + " --server " + server->address() + " ";
  const std::string ca = "--tls-ca " + pki_.ca_file() + " ";

  ShellResult r = RunShell(ctl + "tokenize hello");
  EXPECT_EQ(r.exit_code, 3) << r.output;  // plaintext: unavailable
  r = RunShell(ctl + ca + "tokenize hello");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  r = RunShell(ctl + ca + "--token alice-token tokenize hello");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunShell("GGUFD_TOKEN=alice-token " + ctl + ca + "tokenize hello");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunShell(ctl + ca + "--token-file " + dir / "token" + " status");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ACCESS_DENIED"));
  // The client certificate is listed as admin.
  r = RunShell(ctl + ca + "--tls-cert " + Cert("client") + " --tls-key " +
               Key("client") + " status");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunShell(ctl + ca + "--tls-cert " + Cert("client") + " status");
  EXPECT_EQ(r.exit_code, 2) << r.output;  // --tls-cert needs --tls-key
}

}  // namespace
}  // namespace ggufd::testing
