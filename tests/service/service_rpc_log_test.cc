// The one "rpc" log line of every call, unary ones included, read from a
// real `ggufd serve`'s log (stories260K: fast).
#include <httplib.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "ggufd/v1/sessions.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/ggufd_process.h"
#include "tests/service/security_testing.h"

namespace ggufd::testing {
namespace {

using nlohmann::json;

// The rpc lines logged so far, by method.
std::map<std::string, std::vector<json>> RpcLines(GgufdProcess& server) {
  std::map<std::string, std::vector<json>> out;
  for (const std::string& line : server.LogLines()) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "rpc") {
      out[j.value("method", "")].push_back(j);
    }
  }
  return out;
}

TEST(ServiceRpcLogTest, EveryUnaryCallLogsOneRpcLine) {
  auto server = GgufdProcess::Start({"--model", StoriesModel()});
  ASSERT_NE(server, nullptr);
  auto sessions = v1::Sessions::NewStub(server->channel());
  {  // Runs on the runtime.
    grpc::ClientContext context;
    v1::TokenizeRequest request;
    request.set_text("Once upon a time");
    v1::TokenizeResponse response;
    ASSERT_TRUE(
        server->inference().Tokenize(&context, request, &response).ok());
  }
  {  // Refused before any runtime is found.
    grpc::ClientContext context;
    v1::DetokenizeRequest request;
    request.set_runtime("nowhere");
    v1::DetokenizeResponse response;
    EXPECT_EQ(server->inference()
                  .Detokenize(&context, request, &response)
                  .error_code(),
              grpc::NOT_FOUND);
  }
  {  // Answered at once, without a runtime.
    grpc::ClientContext context;
    v1::CancelRequest request;
    request.set_request_id("nobody");
    v1::CancelResponse response;
    ASSERT_TRUE(server->inference().Cancel(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    v1::ListRuntimesResponse response;
    ASSERT_TRUE(
        server->runtime()
            .ListRuntimes(&context, v1::ListRuntimesRequest(), &response)
            .ok());
  }
  Status(*server, "default");  // Diagnostics/GetStatus from the snapshot
  {                            // An invalid field, refused by the handler.
    grpc::ClientContext context;
    v1::DeleteSessionRequest request;
    request.set_session_id("no spaces allowed");
    v1::DeleteSessionResponse response;
    EXPECT_EQ(
        sessions->DeleteSession(&context, request, &response).error_code(),
        grpc::INVALID_ARGUMENT);
  }

  const std::map<std::string, std::string> want = {
      {"Inference/Tokenize", "OK"},
      {"Inference/Detokenize", "NOT_FOUND"},
      {"Inference/Cancel", "OK"},
      {"Runtime/ListRuntimes", "OK"},
      {"Diagnostics/GetStatus", "OK"},
      {"Sessions/DeleteSession", "INVALID_ARGUMENT"}};
  // The line is written as the call finishes; the log reader lags a little.
  ASSERT_TRUE(Eventually([&] {
    const auto lines = RpcLines(*server);
    for (const auto& [method, code] : want) {
      if (!lines.contains(method)) return false;
    }
    return true;
  }));
  const auto lines = RpcLines(*server);
  for (const auto& [method, code] : want) {
    SCOPED_TRACE(method);
    ASSERT_EQ(lines.at(method).size(), 1u);
    const json& line = lines.at(method)[0];
    EXPECT_EQ(line.value("code", ""), code);
    EXPECT_TRUE(line.contains("duration_ms"));
    EXPECT_GE(line.value("duration_ms", -1.0), 0.0);
    // Failures carry the error code and message; successes neither.
    EXPECT_EQ(line.contains("error_code"), code != "OK");
    EXPECT_EQ(line.contains("error"), code != "OK");
  }
  // The runtime, where the call reached one.
  EXPECT_EQ(lines.at("Inference/Tokenize")[0].value("runtime", ""), "default");
  EXPECT_EQ(lines.at("Diagnostics/GetStatus")[0].value("runtime", ""),
            "default");
  EXPECT_FALSE(lines.at("Inference/Detokenize")[0].contains("runtime"));
  EXPECT_FALSE(lines.at("Inference/Cancel")[0].contains("runtime"));
  EXPECT_EQ(lines.at("Sessions/DeleteSession")[0].value("error_code", 0), 1);
}

// Calls that end before any handler or runtime sees them (refused by the
// access guard, a path no route serves, a body that is not JSON) and the
// HTTP door's own answers log the same line as every other call.
TEST(ServiceRpcLogTest, RefusalsAndHttpDoorCallsLogOneRpcLine) {
  constexpr char kToken[] = "rpc-log-test-token";
  TempDir dir;
  WriteFile(dir / "auth", AuthLine(kToken, "inference", "alice"));
  auto server = GgufdProcess::Start({"--model", StoriesModel(), "--auth-file",
                                     dir / "auth", "--http-port", "0"});
  ASSERT_NE(server, nullptr);
  int http_port = -1;
  for (const std::string& line : server->LogLines()) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "listening") {
      http_port = j.value("http_port", -1);
    }
  }
  ASSERT_GT(http_port, 0);

  {  // Unary, refused by the access guard.
    auto context = ContextWith("");
    v1::TokenizeRequest request;
    request.set_text("Hello");
    v1::TokenizeResponse response;
    EXPECT_EQ(server->inference()
                  .Tokenize(context.get(), request, &response)
                  .error_code(),
              grpc::UNAUTHENTICATED);
  }
  {  // Streaming, refused by the access guard.
    auto context = ContextWith("wrong-token");
    EXPECT_EQ(Generate(server->inference(), TextRequest("Hi", 2), context.get())
                  .status.error_code(),
              grpc::UNAUTHENTICATED);
  }
  httplib::Client http("127.0.0.1", http_port);
  const httplib::Headers alice = {
      {"Authorization", std::string("Bearer ") + kToken}};
  auto models = http.Get("/v1/models", alice);
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  auto unauthenticated = http.Get("/v1/models/default");
  ASSERT_TRUE(unauthenticated);
  EXPECT_EQ(unauthenticated->status, 401);
  auto unrouted = http.Get("/v1/nowhere", alice);
  ASSERT_TRUE(unrouted);
  EXPECT_EQ(unrouted->status, 404);
  auto not_json =
      http.Post("/v1/embeddings", alice, "{not json", "application/json");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);

  struct Want {
    std::string method, code;
    int http_status;  // 0: a gRPC call
  };
  const std::vector<Want> want = {
      {"Inference/Tokenize", "UNAUTHENTICATED", 0},
      {"Inference/Generate", "UNAUTHENTICATED", 0},
      {"OpenAI/Models", "OK", 200},
      {"OpenAI/Models", "UNAUTHENTICATED", 401},
      {"OpenAI/Unrouted", "NOT_FOUND", 404},
      {"OpenAI/Embeddings", "INVALID_ARGUMENT", 400}};
  ASSERT_TRUE(Eventually([&] {
    const auto lines = RpcLines(*server);
    return lines.contains("OpenAI/Embeddings") &&
           lines.contains("OpenAI/Unrouted");
  }));
  auto lines = RpcLines(*server);
  for (const Want& w : want) {
    SCOPED_TRACE(w.method + " " + w.code);
    auto& of_method = lines[w.method];
    auto it = std::find_if(
        of_method.begin(), of_method.end(),
        [&](const json& line) { return line.value("code", "") == w.code; });
    ASSERT_NE(it, of_method.end());
    EXPECT_EQ(it->contains("error_code"), w.code != "OK");
    if (w.http_status == 0) {
      EXPECT_FALSE(it->contains("transport"));
    } else {
      EXPECT_EQ(it->value("transport", ""), "http");
      EXPECT_EQ(it->value("http_status", 0), w.http_status);
      EXPECT_TRUE(it->value("peer", "").starts_with("127.0.0.1:"));
    }
    // The method does not say what was asked for; the path does.
    EXPECT_EQ(it->value("path", ""),
              w.method == "OpenAI/Unrouted" ? "/v1/nowhere" : "");
    of_method.erase(it);  // each call logs one line
  }
  for (const Want& w : want) {
    EXPECT_TRUE(lines[w.method].empty())
        << w.method << ": " << lines[w.method].size() << " more";
  }
}

}  // namespace
}  // namespace ggufd::testing
