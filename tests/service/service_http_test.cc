// The HTTP door's threads against a real `ggufd serve --http-port 0` on the
// tiny stories260K model: concurrent streams, a client leaving mid-stream
// and while queued, the full queue, the connection limit and a drain. Its
// answers are checked in detail (with the openai client and curl) by
// tests/e2e/test_openai_http.py; this one is "service"-labelled so the
// ThreadSanitizer stage runs the door's hand-offs (eventfd wake-ups, the
// connection pool, the drain) under TSan.
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

using nlohmann::json;

int HttpPort(GgufdProcess& server) {
  for (const std::string& line : server.LogLines()) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "listening") {
      return j.value("http_port", -1);
    }
  }
  return -1;
}

std::unique_ptr<GgufdProcess> StartWithHttp(std::vector<std::string> args) {
  args.insert(args.end(), {"--model", StoriesModel(), "--http-port", "0"});
  return GgufdProcess::Start(args);
}

std::string Completion(int max_tokens, bool stream) {
  return json{{"prompt", "Once upon a time"},
              {"max_tokens", max_tokens},
              {"temperature", 0},
              {"stream", stream},
              // stories260K's end of text: never, so max_tokens ends it.
              {"logit_bias", {{"2", -100}}}}
      .dump();
}

// A raw connection that sent `body` to `path`.
int Send(int port, const std::string& path, const std::string& body) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request =
      "POST " + path +
      " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  EXPECT_EQ(write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  return fd;
}

bool Idle(GgufdProcess& server) {
  const v1::RuntimeStatus s = Status(server, "default");
  return s.running_operation().empty() && s.queue_depth() == 0;
}

TEST(ServiceHttpTest, ConcurrentStreamsEndWithDone) {
  auto server = StartWithHttp({"--queue-capacity", "16"});
  ASSERT_NE(server, nullptr);
  const int port = HttpPort(*server);
  ASSERT_GT(port, 0);
  std::vector<std::thread> clients;
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client http("127.0.0.1", port);
      http.set_read_timeout(120);
      auto res = http.Post("/v1/completions", Completion(20, i % 2 == 0),
                           "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      if (i % 2 == 0) {
        EXPECT_NE(res->body.find("data: [DONE]\n\n"), std::string::npos);
      } else {
        EXPECT_EQ(json::parse(res->body)["usage"]["completion_tokens"], 20);
      }
      ++done;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(done.load(), 4);
}

TEST(ServiceHttpTest, LeavingCancelsRunningAndQueuedCalls) {
  // Room for a generation that runs long enough to be left.
  auto server = StartWithHttp({"--queue-capacity", "4", "--context-length",
                               "2048", "--max-new-tokens", "0"});
  ASSERT_NE(server, nullptr);
  const int port = HttpPort(*server);
  // Running: the generation stops soon after the socket closes.
  int fd = Send(port, "/v1/completions", Completion(0, true));
  char buffer[4096];
  ASSERT_GT(read(fd, buffer, sizeof(buffer)), 0);  // it streams
  close(fd);
  EXPECT_TRUE(Eventually([&] { return Idle(*server); }));
  const v1::RuntimeStatus after = Status(*server, "default");
  EXPECT_EQ(after.counters().generations_cancelled(), 1u);
  EXPECT_LT(after.counters().generated_tokens(), 2000u);
  // Queued behind a stalled worker: dropped while the worker still stalls.
  Stall(*server, "default");
  fd = Send(port, "/v1/completions", Completion(4, false));
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server, "default").queue_depth() == 1; }));
  close(fd);
  // Answered (the worker drops it when it comes to it, as for gRPC).
  EXPECT_TRUE(Eventually([&] {
    for (const std::string& line : server->LogLines()) {
      const json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", "") == "rpc" &&
          j.value("code", "") == "CANCELLED" &&
          j.value("error", "").find("disconnected") != std::string::npos &&
          j.value("method", "") == "OpenAI/Completions") {
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(Status(*server, "default").running_operation(), "stall");
  Resume(*server);
  EXPECT_TRUE(Eventually([&] { return Idle(*server); }));
}

TEST(ServiceHttpTest, ConnectionsBeyondTheLimitAreRefused) {
  auto server =
      StartWithHttp({"--queue-capacity", "2", "--http-max-connections", "2"});
  ASSERT_NE(server, nullptr);
  const int port = HttpPort(*server);
  // Two calls waiting for a stalled runtime hold both connection threads.
  Stall(*server, "default");
  std::vector<std::thread> queued;
  for (int i = 0; i < 2; ++i) {
    queued.emplace_back([&] {
      httplib::Client http("127.0.0.1", port);
      http.set_read_timeout(120);
      auto res = http.Post("/v1/completions", Completion(2, false),
                           "application/json");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200);
    });
  }
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server, "default").queue_depth() == 2; }));
  httplib::Client third("127.0.0.1", port);
  auto refused = third.Get("/health");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(json::parse(refused->body)["error"]["code"], "UNAVAILABLE");
  // Refused before any request was read, it still logs its one rpc line.
  auto rpc_line = [&](const std::string& method) {
    for (const std::string& line : server->LogLines()) {
      const json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", "") == "rpc" &&
          j.value("method", "") == method) {
        return j;
      }
    }
    return json();
  };
  ASSERT_TRUE(Eventually([&] { return !rpc_line("OpenAI/Unread").is_null(); }));
  const json line = rpc_line("OpenAI/Unread");
  EXPECT_EQ(line.value("code", ""), "UNAVAILABLE");
  EXPECT_EQ(line.value("http_status", 0), 503);
  EXPECT_EQ(line.value("transport", ""), "http");
  EXPECT_TRUE(line.value("peer", "").starts_with("127.0.0.1:"));
  Resume(*server);
  for (auto& t : queued) t.join();
  // The generation route's lines carry the same fields, peer with its port.
  ASSERT_TRUE(
      Eventually([&] { return !rpc_line("OpenAI/Completions").is_null(); }));
  const json completion = rpc_line("OpenAI/Completions");
  EXPECT_EQ(completion.value("transport", ""), "http");
  EXPECT_EQ(completion.value("http_status", 0), 200);
  EXPECT_TRUE(completion.value("peer", "").starts_with("127.0.0.1:"));
  auto served = third.Get("/health");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

TEST(ServiceHttpTest, SigtermFinishesTheStreamAndRefusesNewCalls) {
  auto server = StartWithHttp({"--grace-period-ms", "60000"});
  ASSERT_NE(server, nullptr);
  const int port = HttpPort(*server);
  std::atomic<bool> streaming{false};
  std::string body;
  std::thread client([&] {
    httplib::Client http("127.0.0.1", port);
    http.set_read_timeout(120);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = Completion(300, true);
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      body.append(data, n);
      streaming = true;
      return true;
    };
    auto res = http.send(req);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  });
  ASSERT_TRUE(Eventually([&] { return streaming.load(); }));
  ASSERT_EQ(kill(server->pid(), SIGTERM), 0);
  ASSERT_TRUE(Eventually([&] {
    httplib::Client http("127.0.0.1", port);
    auto res = http.Get("/health");
    return res && res->status == 503;
  }));
  httplib::Client http("127.0.0.1", port);
  auto refused =
      http.Post("/v1/completions", Completion(2, false), "application/json");
  if (refused) {  // else the stream ended and the port closed already
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(json::parse(refused->body)["error"]["code"], "SHUTTING_DOWN");
  }
  client.join();
  EXPECT_NE(body.find("\"finish_reason\":\"length\""), std::string::npos);
  EXPECT_TRUE(body.ends_with("data: [DONE]\n\n"));
  EXPECT_EQ(server->StopWith(SIGTERM), 0);
}

}  // namespace
}  // namespace ggufd::testing
