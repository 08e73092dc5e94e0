// Inference/Embed on a real `ggufd serve`: the vectors the CLI computes
// locally, refusals naming the text at fault, Cancel and deadlines of a
// queued call, the rpc log line and the request metric, the inference
// role, and Generate (the runtime's cached prefix and a session) unchanged
// by an Embed in between.
#include <chrono>
#include <cmath>
#include <future>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/service/ggufd_process.h"
#include "tests/service/security_testing.h"

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;

v1::EmbedRequest EmbedOf(std::vector<std::string> texts) {
  v1::EmbedRequest request;
  for (std::string& text : texts) request.add_texts(std::move(text));
  return request;
}

grpc::Status CallEmbed(GgufdProcess& server, const v1::EmbedRequest& request,
                       v1::EmbedResponse* response,
                       grpc::ClientContext* context = nullptr) {
  grpc::ClientContext own;
  return server.inference().Embed(context != nullptr ? context : &own, request,
                                  response);
}

class ServiceEmbedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = GgufdProcess::Start(
        {"--model", StoriesModel(), "--context-length", "64"});
    ASSERT_NE(server_, nullptr);
  }
  std::unique_ptr<GgufdProcess> server_;
};

TEST_F(ServiceEmbedTest, VectorsAreTheOnesTheCliComputes) {
  const std::vector<std::string> texts = {"Once upon a time", "The dog ran",
                                          "Ünïcödé 🙂"};
  v1::EmbedRequest request = EmbedOf(texts);
  request.set_pooling(v1::POOLING_MEAN);
  request.set_normalize(false);
  v1::EmbedResponse response;
  const grpc::Status status = CallEmbed(*server_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.embeddings_size(), 3);
  EXPECT_EQ(response.pooling(), v1::POOLING_MEAN);
  EXPECT_GT(response.dimensions(), 0);
  EXPECT_FALSE(response.model().empty());

  std::string command = GgufdBinary() + " embed --threads 1 --ctx 64 -m '" +
                        StoriesModel() + "' --pooling mean --no-normalize";
  for (const std::string& t : texts) command += " '" + t + "'";
  const ShellResult cli = RunShell(command + " 2>/dev/null");
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  const nlohmann::json local = nlohmann::json::parse(cli.output);
  EXPECT_EQ(local["dimensions"], response.dimensions());
  EXPECT_EQ(local["prompt_tokens"], response.prompt_tokens());
  int32_t tokens = 0;
  for (int i = 0; i < 3; ++i) {
    const v1::Embedding& e = response.embeddings(i);
    ASSERT_EQ(e.values_size(), response.dimensions());
    EXPECT_EQ(local["embeddings"][i]["tokens"], e.tokens());
    const std::vector<float> expected = local["embeddings"][i]["values"];
    EXPECT_EQ(std::vector<float>(e.values().begin(), e.values().end()),
              expected)
        << i;
    tokens += e.tokens();
  }
  EXPECT_EQ(response.prompt_tokens(), tokens);

  // The default: the model's pooling (stories260K declares none: last),
  // unit vectors.
  v1::EmbedResponse unit;
  ASSERT_TRUE(CallEmbed(*server_, EmbedOf(texts), &unit).ok());
  EXPECT_EQ(unit.pooling(), v1::POOLING_LAST);
  double sum = 0;
  for (float x : unit.embeddings(0).values()) sum += double{x} * x;
  EXPECT_NEAR(std::sqrt(sum), 1.0, 1e-5);
}

TEST_F(ServiceEmbedTest, BadInputIsInvalidArgumentNamingTheField) {
  auto refusal = [&](const v1::EmbedRequest& request) {
    v1::EmbedResponse response;
    return CallEmbed(*server_, request, &response);
  };
  const grpc::Status none = refusal(EmbedOf({}));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(none, "texts")) << none.error_message();

  const grpc::Status many =
      refusal(EmbedOf(std::vector<std::string>(257, "x")));
  EXPECT_EQ(many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(many, "texts"));

  const grpc::Status empty = refusal(EmbedOf({"fine", ""}));
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(empty, "texts[1]")) << empty.error_message();
  EXPECT_EQ(ErrorCodeOf(empty), 1);

  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += " dog";
  const grpc::Status too_long = refusal(EmbedOf({"fine", "ok", long_text}));
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(too_long, "texts[2]"))
      << too_long.error_message();
  v1::EmbedRequest truncate = EmbedOf({"fine", long_text});
  truncate.set_truncate(true);
  v1::EmbedResponse cut;
  ASSERT_TRUE(CallEmbed(*server_, truncate, &cut).ok());
  EXPECT_FALSE(cut.embeddings(0).truncated());
  EXPECT_TRUE(cut.embeddings(1).truncated());
  EXPECT_EQ(cut.embeddings(1).tokens(), 64);

  v1::EmbedRequest pooling = EmbedOf({"fine"});
  pooling.set_pooling(static_cast<v1::Pooling>(9));
  EXPECT_TRUE(HasFieldViolation(refusal(pooling), "pooling"));
  v1::EmbedRequest id = EmbedOf({"fine"});
  id.set_request_id("bad id!");
  EXPECT_TRUE(HasFieldViolation(refusal(id), "request_id"));
  v1::EmbedRequest runtime = EmbedOf({"fine"});
  runtime.set_runtime("nope");
  EXPECT_EQ(refusal(runtime).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Bytes that are not UTF-8 get the answer Tokenize gives them.
TEST_F(ServiceEmbedTest, InvalidUtf8IsAnsweredAsTokenizeAnswersIt) {
  const std::string bad = "ok \xff\xfe bytes";
  grpc::ClientContext c1;
  v1::TokenizeRequest tokenize;
  tokenize.set_text(bad);
  v1::TokenizeResponse ids;
  const grpc::Status tokenized =
      server_->inference().Tokenize(&c1, tokenize, &ids);
  v1::EmbedResponse response;
  const grpc::Status embedded =
      CallEmbed(*server_, EmbedOf({"fine", bad}), &response);
  EXPECT_EQ(embedded.error_code(), tokenized.error_code())
      << embedded.error_message() << " / " << tokenized.error_message();
  if (tokenized.ok()) {
    ASSERT_EQ(response.embeddings_size(), 2);
    EXPECT_EQ(response.embeddings(1).tokens(), ids.ids_size());
  }
}

TEST_F(ServiceEmbedTest, CancelAndDeadlineEndAQueuedCallAtOnce) {
  Stall(*server_, "default");
  v1::EmbedRequest request = EmbedOf({"Once upon a time"});
  request.set_request_id("embed-1");
  grpc::ClientContext context;
  v1::EmbedResponse response;
  auto queued = std::async(std::launch::async, [&] {
    return CallEmbed(*server_, request, &response, &context);
  });
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server_, "default").queue_depth() == 1; }));
  grpc::ClientContext cancel_context;
  v1::CancelRequest cancel;
  cancel.set_request_id("embed-1");
  v1::CancelResponse cancelled;
  ASSERT_TRUE(
      server_->inference().Cancel(&cancel_context, cancel, &cancelled).ok());
  EXPECT_TRUE(cancelled.found());
  EXPECT_EQ(cancelled.state(), "queued");
  // Answered while the worker is still stalled.
  ASSERT_EQ(queued.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  const grpc::Status status = queued.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(ErrorCodeOf(status), 8);

  grpc::ClientContext short_context;
  short_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(300));
  const grpc::Status late =
      CallEmbed(*server_, EmbedOf({"x"}), &response, &short_context);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  Resume(*server_);
  // The runtime serves the next call normally.
  ASSERT_TRUE(CallEmbed(*server_, EmbedOf({"x"}), &response).ok());
  EXPECT_EQ(response.embeddings_size(), 1);
}

TEST_F(ServiceEmbedTest, LoggedAndCountedLikeEveryCall) {
  v1::EmbedRequest request = EmbedOf({"Once upon a time", "The end"});
  request.set_request_id("embed-logged");
  v1::EmbedResponse response;
  ASSERT_TRUE(CallEmbed(*server_, request, &response).ok());
  ASSERT_FALSE(CallEmbed(*server_, EmbedOf({}), &response).ok());
  bool ok_line = false;
  bool error_line = false;
  ASSERT_TRUE(Eventually([&] {
    for (const std::string& line : server_->LogLines()) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || j.value("msg", "") != "rpc" ||
          j.value("method", "") != "Inference/Embed") {
        continue;
      }
      if (j.value("code", "") == "OK" &&
          j.value("request_id", "") == "embed-logged") {
        ok_line = j.value("texts", 0) == 2 && j.contains("duration_ms");
      }
      if (j.value("code", "") == "INVALID_ARGUMENT") error_line = true;
    }
    return ok_line && error_line;
  })) << "ok line "
      << ok_line << ", error line " << error_line;
  httplib::Client metrics("127.0.0.1", server_->metrics_port());
  auto scrape = metrics.Get("/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_THAT(scrape->body,
              HasSubstr("method=\"Inference/Embed\",code=\"OK\"} 1"));
  EXPECT_THAT(scrape->body, HasSubstr("method=\"Inference/Embed\",code="
                                      "\"INVALID_ARGUMENT\"} 1"));
}

// Generate's tokens, and its reuse of the cached prompt, are what they
// would be without the Embed in between; a session's second turn too.
TEST(ServiceEmbedSmolLmTest, GenerateAfterEmbedIsUnchanged) {
  auto server = GgufdProcess::Start({"--model", SmolLmModel()});
  ASSERT_NE(server, nullptr);
  const std::string prompt = "The capital of France is";
  auto turn = [&](const std::string& text, const std::string& session) {
    v1::GenerateRequest request = TextRequest(text, 12);
    request.set_session_id(session);
    request.mutable_stopping()->set_ignore_eos(true);
    return Generate(server->inference(), request);
  };
  const GenerateResult first = turn(prompt, "");
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  const GenerateResult a1 = turn("Tell me a story.", "a");
  ASSERT_TRUE(a1.status.ok());

  v1::EmbedResponse response;
  ASSERT_TRUE(CallEmbed(*server,
                        EmbedOf({"Hello world", "Ünïcödé 🙂",
                                 "A somewhat longer text about nothing at all, "
                                 "to fill the cache with other keys."}),
                        &response)
                  .ok());

  const GenerateResult second = turn(prompt, "");
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(second.text, first.text);
  const v1::Started& started = second.events.front().started();
  EXPECT_EQ(started.cached_tokens(), started.prompt_tokens() - 1);

  const GenerateResult a2 = turn(" Once more.", "a");
  ASSERT_TRUE(a2.status.ok());
  EXPECT_EQ(a2.events.front().started().session_cache(), v1::SESSION_CACHE_HIT);
  // The same two turns with no Embed between them.
  const GenerateResult b1 = turn("Tell me a story.", "b");
  const GenerateResult b2 = turn(" Once more.", "b");
  ASSERT_TRUE(b1.status.ok() && b2.status.ok());
  EXPECT_EQ(a1.text, b1.text);
  EXPECT_EQ(a2.text, b2.text);
}

TEST(ServiceEmbedAuthTest, TheInferenceRoleMayEmbed) {
  TempDir dir;
  WriteFile(dir / "auth", AuthLine("embed-token", "inference", "carol"));
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--auth-file", dir / "auth"});
  ASSERT_NE(server, nullptr);
  v1::EmbedResponse response;
  auto anonymous = ContextWith("");
  EXPECT_EQ(server->inference()
                .Embed(anonymous.get(), EmbedOf({"x"}), &response)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto carol = ContextWith("embed-token");
  const grpc::Status status =
      server->inference().Embed(carol.get(), EmbedOf({"x"}), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.embeddings_size(), 1);
}

}  // namespace
}  // namespace ggufd::testing
