// The one "rpc" log line of every call, unary ones included, read from a
// real `ggufd serve`'s log (stories260K: fast).
#include <map>
#include <string>
#include <vector>

#include "ggufd/v1/sessions.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/ggufd_process.h"

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

}  // namespace
}  // namespace ggufd::testing
