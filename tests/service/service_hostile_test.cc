// Defects found by trying ggufd as a hostile client would (issue 10), each
// pinned by a test: in-range values that poisoned a runtime, queue slots
// held by requests that can no longer run, watch streams that held up a
// drain, server paths in errors, and the wrong reason for refused options.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/error_code.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

namespace fs = std::filesystem;

bool Serving(GgufdProcess& server) {
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("ggufd.v1.Inference");
  grpc::health::v1::HealthCheckResponse response;
  return server.health().Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

TEST(ServiceHostileTest, ExtremeSamplingValuesNeverPoisonTheRuntime) {
  auto server = GgufdProcess::Start({"--model", StoriesModel()});
  ASSERT_NE(server, nullptr);
  const GenerateResult greedy =
      Generate(server->inference(), TextRequest("Once upon", 12));
  ASSERT_TRUE(greedy.status.ok());
  ASSERT_TRUE(Serving(*server));

  // Values the API accepts are sampled safely: the tiniest temperature and
  // a negative one (<= 0 is greedy) both act as greedy does.
  for (float temperature : {1e-38f, 1e-30f, -1.0f}) {
    v1::GenerateRequest request = TextRequest("Once upon", 12);
    request.mutable_sampling()->set_temperature(temperature);
    const GenerateResult r = Generate(server->inference(), request);
    ASSERT_TRUE(r.status.ok())
        << temperature << ": " << r.status.error_message();
    EXPECT_EQ(r.text, greedy.text) << temperature;
  }

  // Values that would overflow are refused up front, naming the field.
  auto refused = [&](auto&& set, const std::string& field) {
    v1::GenerateRequest request = TextRequest("Once upon", 4);
    set(*request.mutable_sampling());
    const GenerateResult r = Generate(server->inference(), request);
    EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT) << field;
    EXPECT_TRUE(HasFieldViolation(r.status, "sampling")) << field;
    EXPECT_NE(r.status.error_message().find(field), std::string::npos)
        << r.status.error_message();
    grpc::ClientContext context;
    v1::ConfigureRequest configure;
    set(*configure.mutable_sampling());
    v1::ConfigureResponse response;
    EXPECT_EQ(server->runtime()
                  .Configure(&context, configure, &response)
                  .error_code(),
              grpc::INVALID_ARGUMENT)
        << field;
  };
  refused(
      [](v1::SamplingParams& s) {
        auto* bias = s.mutable_logit_bias()->add_entries();
        bias->set_token(5);
        bias->set_bias(3e38f);
      },
      "logit_bias");
  refused([](v1::SamplingParams& s) { s.set_repeat_penalty(1e-38f); },
          "repeat_penalty");
  refused([](v1::SamplingParams& s) { s.set_frequency_penalty(-3e38f); },
          "frequency_penalty");
  refused([](v1::SamplingParams& s) { s.set_presence_penalty(3e38f); },
          "presence_penalty");

  // A request that cannot be sampled at all (every token banned) fails
  // alone: the runtime stays serving and the next request is answered.
  v1::GenerateRequest banned = TextRequest("Once upon", 4);
  banned.mutable_sampling()->set_temperature(0.8f);
  for (int id = 0; id < 512; ++id) {
    auto* bias = banned.mutable_sampling()->mutable_logit_bias()->add_entries();
    bias->set_token(id);
    bias->set_bias(-std::numeric_limits<float>::infinity());
  }
  const GenerateResult r = Generate(server->inference(), banned);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT)
      << r.status.error_message();
  EXPECT_EQ(ErrorCodeOf(r.status),
            static_cast<int>(ErrorCode::kInvalidArgument));
  EXPECT_FALSE(Status(*server, "default").poisoned());
  EXPECT_TRUE(Serving(*server));
  const GenerateResult after =
      Generate(server->inference(), TextRequest("Once upon", 12));
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.text, greedy.text);
}

TEST(ServiceHostileTest, RequestsThatCanNoLongerRunGiveTheirQueueSlotBack) {
  auto server =
      GgufdProcess::Start({"--model", StoriesModel(), "--queue-capacity", "2"});
  ASSERT_NE(server, nullptr);
  Stall(*server, "default");
  // Two requests fill the queue; one is cancelled by the client, the other
  // passes its deadline while the worker is busy.
  grpc::ClientContext cancelled, expiring;
  expiring.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(200));
  std::thread a([&] {
    Generate(server->inference(), TextRequest("Once", 4), &cancelled);
  });
  std::thread b([&] {
    Generate(server->inference(), TextRequest("Once", 4), &expiring);
  });
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server, "default").queue_depth() == 2; }));
  cancelled.TryCancel();
  a.join();
  b.join();
  // The worker is still stalled, yet the queue takes new work.
  grpc::ClientContext fresh;
  GenerateResult queued;
  std::thread c([&] {
    queued = Generate(server->inference(), TextRequest("Once", 4), &fresh);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Resume(*server);
  c.join();
  EXPECT_TRUE(queued.status.ok()) << queued.status.error_message();
  EXPECT_GE(Status(*server, "default").commands_dropped(), 2u);
}

TEST(ServiceHostileTest, DrainEndsWatchStreamsAtOnce) {
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--grace-period-ms", "200"});
  ASSERT_NE(server, nullptr);
  std::vector<std::thread> watchers;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::Status> ended(4);
  std::atomic<int> watching{0};
  for (int i = 0; i < 4; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    watchers.emplace_back([&, i, context = contexts.back().get()] {
      v1::WatchStatusRequest request;
      request.set_interval_ms(60000);
      auto reader = server->diagnostics().WatchStatus(context, request);
      v1::RuntimeStatus status;
      if (reader->Read(&status)) ++watching;
      while (reader->Read(&status)) {
      }
      ended[i] = reader->Finish();
    });
  }
  // Each is now asleep on its interval after its first status.
  ASSERT_TRUE(Eventually([&] { return watching.load() == 4; }));
  EXPECT_EQ(server->StopWith(SIGTERM), 0);
  for (std::thread& t : watchers) t.join();
  // The drain ends each stream itself (OK); a stream left sleeping on its
  // 60 s interval would only be cut by the server's forced shutdown
  // (CANCELLED / UNAVAILABLE).
  for (const grpc::Status& status : ended) {
    EXPECT_TRUE(status.ok())
        << status.error_code() << ": " << status.error_message();
  }
}

TEST(ServiceHostileTest, LoadErrorsNameClientPathsAndTheRightReason) {
  const fs::path dir =
      fs::temp_directory_path() / ("ggufd_hostile_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  fs::copy_file(StoriesModel(), dir / "stories.gguf");
  std::ofstream(dir / "sub" / "junk.gguf") << "GGUF but not really";
  auto server =
      GgufdProcess::Start({"--model", (dir / "stories.gguf").string()});
  ASSERT_NE(server, nullptr);

  const grpc::Status junk = Load(*server, "default", "sub/junk.gguf");
  EXPECT_EQ(ErrorCodeOf(junk), static_cast<int>(ErrorCode::kInvalidModel));
  EXPECT_EQ(junk.error_message().find(dir.string()), std::string::npos)
      << junk.error_message();
  EXPECT_NE(junk.error_message().find("sub/junk.gguf"), std::string::npos)
      << junk.error_message();

  // The file is fine; the options asked for are not.
  const grpc::Status too_long =
      Load(*server, "default", "stories.gguf", 1 << 24);
  EXPECT_EQ(ErrorCodeOf(too_long),
            static_cast<int>(ErrorCode::kInvalidArgument))
      << too_long.error_message();
  EXPECT_EQ(too_long.error_message().find(dir.string()), std::string::npos);
  grpc::ClientContext context;
  v1::LoadModelRequest tiny;
  tiny.set_path("stories.gguf");
  tiny.set_memory_limit_bytes(1);
  auto reader = server->runtime().LoadModel(&context, tiny);
  v1::LoadModelEvent event;
  while (reader->Read(&event)) {
  }
  const grpc::Status one_byte = reader->Finish();
  EXPECT_NE(ErrorCodeOf(one_byte), static_cast<int>(ErrorCode::kInvalidModel))
      << one_byte.error_message();
  EXPECT_FALSE(one_byte.ok());
  // The model loaded at start is still there.
  EXPECT_TRUE(
      Generate(server->inference(), TextRequest("Once", 2)).status.ok());
  fs::remove_all(dir);
}

TEST(ServiceHostileTest, AFailedStartExitsCleanly) {
  // A metrics port someone else holds: the start fails after the runtime
  // workers exist, and must not crash on their last snapshot.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string command = GgufdBinary() +
                              " serve --listen 127.0.0.1:0 --metrics-port " +
                              std::to_string(ntohs(address.sin_port)) +
                              " --model " + StoriesModel() + " 2>/dev/null";
  const int status = std::system(command.c_str());
  close(holder);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal: " << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace ggufd::testing
