// SIGTERM drains a real `ggufd serve`: health turns NOT_SERVING, new work
// is refused with UNAVAILABLE, the running generation finishes within the
// grace period (or is cancelled after it), and the process exits 0.
#include <signal.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

grpc::health::v1::HealthCheckResponse::ServingStatus Health(
    GgufdProcess& server, const std::string& service) {
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  server.health().Check(&context, request, &response);
  return response.status();
}

TEST(ServiceDrainTest, SigtermLetsTheRunningGenerationFinish) {
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--grace-period-ms", "60000"});
  ASSERT_NE(server, nullptr);
  std::atomic<bool> streaming{false};
  std::atomic<bool> done{false};
  GenerateResult r;
  std::thread client([&] {
    v1::GenerateRequest request = TextRequest("Once upon a time", 300);
    request.mutable_stopping()->set_ignore_eos(true);
    r = Generate(server->inference(), request, nullptr,
                 [&](const v1::GenerateEvent& e) {
                   if (e.has_chunk()) streaming = true;
                 });
    done = true;
  });
  ASSERT_TRUE(Eventually([&] { return streaming.load(); }));
  ASSERT_EQ(kill(server->pid(), SIGTERM), 0);
  ASSERT_TRUE(Eventually([&] {
    return Health(*server, "") ==
           grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }));
  EXPECT_EQ(Health(*server, "ggufd.v1.Inference"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // New work is refused while the running generation goes on.
  const GenerateResult refused =
      Generate(server->inference(), TextRequest("Once", 2));
  EXPECT_EQ(refused.status.error_code(), grpc::UNAVAILABLE);
  if (!done.load()) {  // else the server may be gone already
    EXPECT_EQ(ErrorCodeOf(refused.status), 15);  // SHUTTING_DOWN
    EXPECT_TRUE(HasRetryInfo(refused.status));
  }
  client.join();
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(r.last.usage().completion_tokens(), 300);
  EXPECT_EQ(server->StopWith(0), 0);
}

TEST(ServiceDrainTest, AfterTheGracePeriodRunningWorkIsCancelled) {
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--grace-period-ms", "0"});
  ASSERT_NE(server, nullptr);
  std::atomic<bool> streaming{false};
  GenerateResult r;
  std::thread client([&] {
    v1::GenerateRequest request = TextRequest("Once upon a time", 0);
    request.mutable_stopping()->set_ignore_eos(true);
    r = Generate(server->inference(), request, nullptr,
                 [&](const v1::GenerateEvent& e) {
                   if (e.has_chunk()) streaming = true;
                 });
  });
  ASSERT_TRUE(Eventually([&] { return streaming.load(); }));
  ASSERT_EQ(kill(server->pid(), SIGTERM), 0);
  client.join();
  // Cancelled: a Finished{CANCELLED} when the transport still allowed it.
  if (r.status.ok()) {
    EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_CANCELLED);
  } else {
    EXPECT_TRUE(r.status.error_code() == grpc::UNAVAILABLE ||
                r.status.error_code() == grpc::CANCELLED)
        << r.status.error_code();
  }
  EXPECT_EQ(server->StopWith(0), 0);
  bool drained = false;
  for (const std::string& line : server->LogLines()) {
    if (line.find("\"msg\":\"stopped\"") != std::string::npos) drained = true;
  }
  EXPECT_TRUE(drained);
}

}  // namespace
}  // namespace ggufd::testing
