// The request limits of `ggufd serve`, each refused with its own code and
// reason on a real server: message size (MESSAGE_TOO_LARGE, not retryable,
// unlike QUEUE_FULL), prompt tokens and new tokens (LIMIT_EXCEEDED, with
// the field), runtimes (a quota), and concurrent streams per connection.
#include <chrono>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"
#include "tests/service/security_testing.h"

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;

// The value of trailer `key` of a finished call ("" when absent).
std::string Trailer(const grpc::ClientContext& context,
                    const std::string& key) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(key);
  return it == trailers.end()
             ? std::string()
             : std::string(it->second.data(), it->second.size());
}

TEST(ServiceLimitsTest, ATooLargeMessageIsRefusedAsNotRetryable) {
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--max-receive-message-bytes", "64KiB"});
  ASSERT_NE(server, nullptr);
  auto tokenize = [&](size_t bytes, grpc::ClientContext& context) {
    v1::TokenizeRequest request;
    request.set_text(std::string(bytes, 'a'));
    v1::TokenizeResponse response;
    return server->inference().Tokenize(&context, request, &response);
  };
  {
    grpc::ClientContext context;
    EXPECT_TRUE(tokenize(60 << 10, context).ok());
  }
  {
    grpc::ClientContext context;
    const grpc::Status s = tokenize(100 << 10, context);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(ReasonOf(s), "MESSAGE_TOO_LARGE");
    EXPECT_EQ(ErrorCodeOf(s), 23);
    EXPECT_FALSE(HasRetryInfo(s));
    EXPECT_THAT(s.error_message(), HasSubstr("--max-receive-message-bytes"));
    // gRPC retry policies honour this and do not retry.
    EXPECT_EQ(Trailer(context, "grpc-retry-pushback-ms"), "-1");
  }
  {
    // Far beyond the limit gRPC drops the message before ggufd parses it.
    grpc::ClientContext context;
    const grpc::Status s = tokenize(200 << 10, context);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(ReasonOf(s), "QUEUE_FULL");
  }
  // The full queue, by contrast, says QUEUE_FULL with RetryInfo (tested in
  // service_admission_test); the two never look alike.
}

TEST(ServiceLimitsTest, PromptAndNewTokensBeyondTheLimitsAreRefused) {
  auto server =
      GgufdProcess::Start({"--model", StoriesModel(), "--max-prompt-tokens",
                           "8", "--max-new-tokens", "5"});
  ASSERT_NE(server, nullptr);
  v1::GenerateRequest request = TextRequest("", 4);
  request.clear_text();
  for (int i = 0; i < 9; ++i) request.mutable_tokens()->add_ids(100 + i);
  GenerateResult r = Generate(server->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(r.status), "LIMIT_EXCEEDED");
  EXPECT_EQ(ErrorCodeOf(r.status), 24);
  EXPECT_TRUE(HasFieldViolation(r.status, "tokens.ids"));
  request.mutable_tokens()->mutable_ids()->RemoveLast();
  r = Generate(server->inference(), request);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();

  r = Generate(server->inference(), TextRequest("Once upon a time", 6));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(r.status), "LIMIT_EXCEEDED");
  EXPECT_TRUE(HasFieldViolation(r.status, "stopping.max_tokens"));
  EXPECT_THAT(r.status.error_message(), HasSubstr("--max-new-tokens"));

  // 0 ("until the context is full") and unset run to the limit.
  for (bool set_zero : {true, false}) {
    v1::GenerateRequest open = TextRequest("Once upon a time", 0);
    if (!set_zero) open.mutable_stopping()->clear_max_tokens();
    open.mutable_stopping()->set_ignore_eos(true);
    r = Generate(server->inference(), open);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.last.usage().completion_tokens(), 5);
    EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_MAX_TOKENS);
  }

  // Configure cannot raise the defaults past the limit either.
  grpc::ClientContext context;
  v1::ConfigureRequest configure;
  configure.mutable_stopping()->set_max_tokens(6);
  v1::ConfigureResponse configured;
  const grpc::Status s =
      server->runtime().Configure(&context, configure, &configured);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "LIMIT_EXCEEDED");
}

TEST(ServiceLimitsTest, RuntimesBeyondTheLimitAreAQuotaNotAFullQueue) {
  auto server =
      GgufdProcess::Start({"--model", StoriesModel(), "--max-runtimes", "2"});
  ASSERT_NE(server, nullptr);
  auto create = [&](const std::string& name, grpc::ClientContext& context) {
    v1::CreateRuntimeRequest request;
    request.set_name(name);
    v1::RuntimeInfo info;
    return server->runtime().CreateRuntime(&context, request, &info);
  };
  {
    grpc::ClientContext context;
    ASSERT_TRUE(create("second", context).ok());
  }
  {
    grpc::ClientContext context;
    const grpc::Status s = create("third", context);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(ReasonOf(s), "LIMIT_EXCEEDED");
    EXPECT_FALSE(HasRetryInfo(s));
    EXPECT_EQ(Trailer(context, "grpc-retry-pushback-ms"), "-1");
    EXPECT_THAT(s.error_message(), HasSubstr("--max-runtimes"));
  }
  {
    grpc::ClientContext context;
    v1::DeleteRuntimeRequest request;
    request.set_name("second");
    v1::DeleteRuntimeResponse response;
    ASSERT_TRUE(
        server->runtime().DeleteRuntime(&context, request, &response).ok());
  }
  grpc::ClientContext context;
  EXPECT_TRUE(create("third", context).ok());
}

TEST(ServiceLimitsTest, StreamsPerConnectionBeyondTheLimitWait) {
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--max-concurrent-streams", "1"});
  ASSERT_NE(server, nullptr);
  Stall(*server, "default");
  // One stream stays open on this connection (queued behind the stall).
  auto shared = PlainChannel(server->address());
  auto stub = v1::Inference::NewStub(shared);
  grpc::ClientContext open_context;
  auto open = std::async(std::launch::async, [&] {
    return Generate(*stub, TextRequest("Once upon a time", 2), &open_context);
  });
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server, "default").queue_depth() == 1; }));
  // A second call on the same connection waits for a stream...
  auto diagnostics = v1::Diagnostics::NewStub(shared);
  grpc::ClientContext waiting;
  waiting.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(500));
  v1::RuntimeStatus status;
  EXPECT_EQ(diagnostics->GetStatus(&waiting, v1::GetStatusRequest(), &status)
                .error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // ...while another connection is served at once.
  auto other = v1::Diagnostics::NewStub(PlainChannel(server->address()));
  grpc::ClientContext served;
  EXPECT_TRUE(other->GetStatus(&served, v1::GetStatusRequest(), &status).ok());
  Resume(*server);
  EXPECT_TRUE(open.get().status.ok());
}

}  // namespace
}  // namespace ggufd::testing
