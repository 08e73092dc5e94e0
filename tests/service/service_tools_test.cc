// The tools around a real `ggufd serve`: grpcurl through server reflection,
// the Prometheus endpoint, and ggufctl as a shell user runs it.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/service/exposition_checker.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;

// ggufctl's and grpcurl's output, stderr included.
ShellResult Shell(const std::string& command) { return RunShell(command); }

std::string Grpcurl() {
  return std::string(GGUFD_SOURCE_DIR) + "/tools/bin/grpcurl";
}

class ServiceToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = GgufdProcess::Start({"--model", StoriesModel()});
    ASSERT_NE(server_, nullptr);
  }
  std::unique_ptr<GgufdProcess> server_;
};

TEST_F(ServiceToolsTest, GrpcurlListsServicesAndGenerates) {
  ASSERT_TRUE(std::filesystem::exists(Grpcurl()))
      << "grpcurl is missing: run deploy/setup.sh";
  const std::string target = " -plaintext " + server_->address() + " ";
  const ShellResult list = Shell(Grpcurl() + target + "list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  for (const char* service :
       {"ggufd.v1.Inference", "ggufd.v1.Runtime", "ggufd.v1.Diagnostics",
        "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
        "grpc.channelz.v1.Channelz"}) {
    EXPECT_THAT(list.output, HasSubstr(service));
  }
  const ShellResult generate =
      Shell(Grpcurl() +
            " -d '{\"text\": \"Once upon a time\", \"stopping\": "
            "{\"max_tokens\": 8}, \"request_id\": \"curl-1\"}'" +
            target + "ggufd.v1.Inference/Generate");
  ASSERT_EQ(generate.exit_code, 0) << generate.output;
  EXPECT_THAT(generate.output, HasSubstr("\"request_id\": \"curl-1\""));
  EXPECT_THAT(generate.output, HasSubstr("\"chunk\""));
  EXPECT_THAT(generate.output, HasSubstr("FINISH_REASON_MAX_TOKENS"));
  const ShellResult health =
      Shell(Grpcurl() + " -d '{\"service\": \"ggufd.v1.Inference\"}'" + target +
            "grpc.health.v1.Health/Check");
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_THAT(health.output, HasSubstr("SERVING"));
  // Errors carry their details to grpcurl too.
  const ShellResult escape =
      Shell(Grpcurl() + " -d '{\"path\": \"../x.gguf\"}'" + target +
            "ggufd.v1.Runtime/LoadModel");
  EXPECT_NE(escape.exit_code, 0);
  EXPECT_THAT(escape.output, HasSubstr("PermissionDenied"));
  EXPECT_THAT(escape.output, HasSubstr("\"error_code\": \"11\""));
}

TEST_F(ServiceToolsTest, MetricsEndpointServesValidExposition) {
  ASSERT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 5)).status.ok());
  EXPECT_EQ(Generate(server_->inference(), TextRequest("Once", 5, "nope"))
                .status.error_code(),
            grpc::NOT_FOUND);
  httplib::Client http("127.0.0.1", server_->metrics_port());
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200);
  EXPECT_THAT(response->get_header_value("Content-Type"),
              HasSubstr("text/plain"));
  auto samples = CheckExposition(response->body);
  ASSERT_TRUE(samples.ok()) << samples.status() << "\n" << response->body;
  EXPECT_EQ(
      samples->at(
          "ggufd_requests_total{code=\"OK\",method=\"Inference/Generate\"}"),
      1);
  EXPECT_EQ(samples->at("ggufd_requests_total{code=\"NOT_FOUND\",method="
                        "\"Inference/Generate\"}"),
            1);
  EXPECT_EQ(samples->at("ggufd_generated_tokens_total{runtime=\"default\"}"),
            5);
  EXPECT_EQ(samples->at(
                "ggufd_time_to_first_token_seconds_count{runtime=\"default\"}"),
            1);
  EXPECT_EQ(samples->at(
                "ggufd_inter_token_latency_seconds_count{runtime=\"default\"}"),
            4);
  EXPECT_EQ(samples->at("ggufd_queue_depth{runtime=\"default\"}"), 0);
  EXPECT_EQ(samples->at("ggufd_runtime_ready{runtime=\"default\"}"), 1);
}

TEST_F(ServiceToolsTest, GgufctlWorksLikeAShellUserExpects) {
  const std::string ctl = GgufctlBinary() + " --server " + server_->address();
  const ShellResult generate =
      Shell(ctl + " generate 'Once upon a time' -n 12 -t 0 --stats");
  ASSERT_EQ(generate.exit_code, 0) << generate.output;
  EXPECT_THAT(generate.output,
              HasSubstr("FINISH_REASON_MAX_TOKENS: 5 prompt + 12"));
  const ShellResult tokens = Shell(ctl + " tokenize 'Once upon a time'");
  EXPECT_EQ(tokens.exit_code, 0) << tokens.output;
  EXPECT_THAT(tokens.output, ::testing::MatchesRegex("[0-9 ]+\n"));
  const ShellResult status = Shell(ctl + " status");
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.output, HasSubstr("state:      READY"));
  const ShellResult load = Shell(ctl + " load stories260K.gguf");
  EXPECT_EQ(load.exit_code, 0) << load.output;
  EXPECT_THAT(load.output, HasSubstr("llama"));
  const ShellResult chat = Shell(ctl + " chat --template chatml 'Hi' -n 4");
  EXPECT_EQ(chat.exit_code, 0) << chat.output;
  // Errors: a message on stderr and a non-zero exit.
  const ShellResult escape = Shell(ctl + " load ../secret.gguf");
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_THAT(escape.output,
              HasSubstr("ggufctl: PERMISSION_DENIED: the model path leads "
                        "outside the model directory [PERMISSION_DENIED, "
                        "error_code 11]"));
  const ShellResult missing = Shell(ctl + " --runtime nope status");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("NOT_FOUND"));
  const ShellResult usage = Shell(ctl + " generate");
  EXPECT_EQ(usage.exit_code, 2);
  const ShellResult down =
      Shell(GgufctlBinary() + " --server 127.0.0.1:1 --timeout 5 status");
  EXPECT_EQ(down.exit_code, 3) << down.output;
}

TEST(ServiceToolsSessionsTest, GgufctlContinuesForksSavesAndRestoresSessions) {
  const std::filesystem::path state =
      std::filesystem::temp_directory_path() /
      ("ggufctl-state-" + std::to_string(getpid()));
  std::filesystem::create_directories(state);
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--state-dir", state.string()});
  ASSERT_NE(server, nullptr);
  const std::string ctl = GgufctlBinary() + " --server " + server->address();

  // Two turns of one session: the second reuses the session's KV cache.
  const ShellResult first = Shell(
      ctl + " generate 'Once upon a time' -n 8 -t 0 --session s1 --stats");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("[session s1: SESSION_CACHE_NEW, 0 of "));
  const ShellResult second =
      Shell(ctl + " generate ' there' -n 8 -t 0 --session s1 --stats");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output,
              ::testing::ContainsRegex(
                  "session s1: SESSION_CACHE_HIT, [1-9][0-9]* of [0-9]+ "
                  "prompt tokens cached"));
  const ShellResult list = Shell(ctl + " session list");
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, ::testing::ContainsRegex("\ns1 +[0-9]+ +[1-9]"));
  EXPECT_THAT(list.output, HasSubstr("1 session, "));

  // Fork, save, and a restored copy that continues like the original.
  EXPECT_EQ(Shell(ctl + " session fork s1 s2").exit_code, 0);
  EXPECT_EQ(Shell(ctl + " session fork s1 s2").exit_code, 1);  // exists
  const ShellResult save = Shell(ctl + " session save s1");
  EXPECT_EQ(save.exit_code, 0) << save.output;
  EXPECT_THAT(save.output, HasSubstr("saved s1 to s1.session ("));
  EXPECT_TRUE(std::filesystem::exists(state / "s1.session"));
  const ShellResult original =
      Shell(ctl + " generate ' and' -n 8 -t 0 --session s1");
  ASSERT_EQ(original.exit_code, 0) << original.output;
  EXPECT_EQ(Shell(ctl + " session restore s1.session --as s3").exit_code, 0);
  const ShellResult restored =
      Shell(ctl + " generate ' and' -n 8 -t 0 --session s3");
  EXPECT_EQ(restored.output, original.output);
  const ShellResult exists = Shell(ctl + " session restore s1.session");
  EXPECT_EQ(exists.exit_code, 1);
  EXPECT_THAT(exists.output, HasSubstr("ALREADY_EXISTS"));
  EXPECT_EQ(Shell(ctl + " session restore s1.session --replace").exit_code, 0);
  EXPECT_EQ(Shell(ctl + " generate ' and' -n 8 -t 0 --session s1").output,
            original.output);

  // Delete, errors and usage.
  EXPECT_THAT(Shell(ctl + " session delete s2").output,
              HasSubstr("deleted s2"));
  const ShellResult gone = Shell(ctl + " session delete s2");
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.output, HasSubstr("no session s2"));
  const ShellResult escape = Shell(ctl + " session save s1 ../outside.session");
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_THAT(escape.output, HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(Shell(ctl + " session").exit_code, 2);
  server.reset();
  std::filesystem::remove_all(state);
}

}  // namespace
}  // namespace ggufd::testing
