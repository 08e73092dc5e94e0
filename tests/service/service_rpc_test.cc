// Every RPC of a real `ggufd serve` on loopback: success and each
// documented error (stories260K: fast).
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

class ServiceRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = GgufdProcess::Start({"--model", StoriesModel()});
    ASSERT_NE(server_, nullptr);
  }
  grpc::health::v1::HealthCheckResponse::ServingStatus Health(
      const std::string& service) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(server_->health().Check(&context, request, &response).ok());
    return response.status();
  }
  std::unique_ptr<GgufdProcess> server_;
};

TEST_F(ServiceRpcTest, GenerateStreamsStartedChunksAndFinished) {
  v1::GenerateRequest request = TextRequest("Once upon a time", 24);
  request.set_request_id("story-1");
  request.mutable_output()->set_token_ids(true);
  request.mutable_output()->set_logprobs(true);
  request.mutable_output()->set_top_logprobs(3);
  const GenerateResult r = Generate(server_->inference(), request);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_GE(r.events.size(), 3u);
  EXPECT_EQ(r.started, 1);
  EXPECT_EQ(r.finished, 1);
  EXPECT_TRUE(r.events.front().has_started());
  EXPECT_TRUE(r.events.back().has_finished());
  const v1::Started& started = r.events.front().started();
  EXPECT_EQ(started.request_id(), "story-1");
  EXPECT_EQ(started.runtime(), "default");
  EXPECT_GT(started.prompt_tokens(), 0);
  EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(r.last.usage().completion_tokens(), 24);
  int tokens = 0;
  for (const auto& e : r.events) {
    if (!e.has_chunk()) continue;
    for (const auto& t : e.chunk().tokens()) {
      ++tokens;
      EXPECT_LE(t.logprob(), 0.0f);
      EXPECT_EQ(t.top_logprobs_size(), 3);
    }
  }
  EXPECT_EQ(tokens, 24);
  EXPECT_FALSE(r.text.empty());
  // Greedy decoding is deterministic: the same request gives the same text.
  request.set_request_id("story-2");
  request.set_reuse_cache(false);
  EXPECT_EQ(Generate(server_->inference(), request).text, r.text);
}

TEST_F(ServiceRpcTest, GenerateFromTokenIdsAndWithAServerRequestId) {
  v1::GenerateRequest request;
  request.mutable_tokens()->add_ids(1);
  request.mutable_tokens()->add_ids(400);
  request.mutable_stopping()->set_max_tokens(5);
  const GenerateResult r = Generate(server_->inference(), request);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.events.front().started().prompt_tokens(), 2);
  EXPECT_EQ(r.events.front().started().request_id().rfind("req-", 0), 0u);
}

TEST_F(ServiceRpcTest, ChatNeedsATemplateFamilyForThisModel) {
  v1::GenerateRequest request;
  auto* m = request.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Tell me a story");
  request.mutable_stopping()->set_max_tokens(4);
  GenerateResult r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(r.status, "chat.template"));
  request.mutable_chat()->set_template_("chatml");
  r = Generate(server_->inference(), request);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.finished, 1);
  request.mutable_chat()->set_template_("vicuna");
  EXPECT_EQ(Generate(server_->inference(), request).status.error_code(),
            grpc::INVALID_ARGUMENT);
}

TEST_F(ServiceRpcTest, InvalidArgumentsNameTheirField) {
  v1::GenerateRequest request = TextRequest("x", 4);
  request.mutable_output()->set_top_logprobs(21);
  GenerateResult r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorCodeOf(r.status), 1);
  EXPECT_TRUE(HasFieldViolation(r.status, "output.top_logprobs"));
  EXPECT_EQ(r.events.size(), 0u);

  request = TextRequest("x", 4);
  request.mutable_sampling()->set_top_p(7);
  r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(r.status, "sampling"));

  request = TextRequest("x", 4);
  request.set_request_id(std::string(1000, 'a'));
  r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  // Large input is never echoed back.
  EXPECT_EQ(r.status.error_message().find(std::string(200, 'a')),
            std::string::npos);

  request = TextRequest("x", 4);
  request.mutable_tokens()->add_ids(100000);  // outside the vocabulary
  r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);

  // Checks only the model's vocabulary can answer name their field too.
  request = TextRequest("x", 4);
  request.mutable_stopping()->mutable_stop_token_ids()->add_ids(100000);
  r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(r.status, "stopping"))
      << r.status.error_message();
  EXPECT_EQ(r.events.size(), 0u);

  request = TextRequest("x", 4);
  auto* bias = request.mutable_sampling()->mutable_logit_bias()->add_entries();
  bias->set_token(100000);
  r = Generate(server_->inference(), request);
  EXPECT_EQ(r.status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(r.status, "sampling"))
      << r.status.error_message();
}

TEST_F(ServiceRpcTest, UnknownRuntimeIsNotFound) {
  const GenerateResult r =
      Generate(server_->inference(), TextRequest("x", 4, "nope"));
  EXPECT_EQ(r.status.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(ErrorCodeOf(r.status), 16);
  EXPECT_TRUE(HasFieldViolation(r.status, "runtime"));
  grpc::ClientContext context;
  v1::ResetRequest reset;
  reset.set_runtime("nope");
  v1::ResetResponse response;
  EXPECT_EQ(server_->runtime().Reset(&context, reset, &response).error_code(),
            grpc::NOT_FOUND);
}

TEST_F(ServiceRpcTest, ContextOverflowIsOutOfRange) {
  grpc::ClientContext context;
  v1::CreateRuntimeRequest create;
  create.set_name("small");
  v1::RuntimeInfo info;
  ASSERT_TRUE(server_->runtime().CreateRuntime(&context, create, &info).ok());
  ASSERT_TRUE(Load(*server_, "small", "stories260K.gguf", 16).ok());
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "Once upon a time ";
  const GenerateResult r =
      Generate(server_->inference(), TextRequest(long_text, 4, "small"));
  EXPECT_EQ(r.status.error_code(), grpc::OUT_OF_RANGE);
  EXPECT_EQ(ErrorCodeOf(r.status), 6);
}

TEST_F(ServiceRpcTest, TokenizeAndDetokenizeRoundTrip) {
  grpc::ClientContext c1;
  v1::TokenizeRequest tokenize;
  tokenize.set_text("Once upon a time");
  tokenize.set_add_special(false);
  v1::TokenizeResponse ids;
  ASSERT_TRUE(server_->inference().Tokenize(&c1, tokenize, &ids).ok());
  ASSERT_GT(ids.ids_size(), 0);
  grpc::ClientContext c2;
  v1::DetokenizeRequest detokenize;
  *detokenize.mutable_ids() = ids.ids();
  v1::DetokenizeResponse text;
  ASSERT_TRUE(server_->inference().Detokenize(&c2, detokenize, &text).ok());
  EXPECT_EQ(text.text(), "Once upon a time");
  EXPECT_EQ(text.raw(), "Once upon a time");
}

// Issue 11: Detokenize repairs invalid UTF-8 with the generation stream's
// function (tokenizer::SanitizeUtf8: one U+FFFD per maximal ill-formed
// subpart, as node-llama-cpp's detokenize), not with one U+FFFD per byte.
TEST_F(ServiceRpcTest, DetokenizeRepairsInvalidUtf8LikeTheStream) {
  // stories260K: <0xHH> is token 3 + HH; E2 82 and F0 9F 98 are cut short.
  grpc::ClientContext context;
  v1::DetokenizeRequest request;
  for (int b : {0xE2, 0x82, 0x61, 0xF0, 0x9F, 0x98}) request.add_ids(3 + b);
  v1::DetokenizeResponse response;
  ASSERT_TRUE(
      server_->inference().Detokenize(&context, request, &response).ok());
  EXPECT_EQ(response.raw(),
            "\xE2\x82"
            "a\xF0\x9F\x98");
  EXPECT_EQ(response.text(),
            "\xEF\xBF\xBD"
            "a\xEF\xBF\xBD");
}

TEST_F(ServiceRpcTest, ConfigureIsAPartialUpdateReturningEffectiveValues) {
  grpc::ClientContext c1;
  v1::ConfigureRequest request;
  request.mutable_sampling()->set_top_k(7);
  request.mutable_stopping()->mutable_stop()->add_values("The end");
  v1::ConfigureResponse first;
  ASSERT_TRUE(server_->runtime().Configure(&c1, request, &first).ok());
  EXPECT_EQ(first.sampling().top_k(), 7);
  EXPECT_FLOAT_EQ(first.sampling().temperature(), 0.8f);  // the default
  ASSERT_EQ(first.stopping().stop().values_size(), 1);

  grpc::ClientContext c2;
  v1::ConfigureRequest second;
  second.mutable_sampling()->set_temperature(0.5f);
  v1::ConfigureResponse effective;
  ASSERT_TRUE(server_->runtime().Configure(&c2, second, &effective).ok());
  EXPECT_EQ(effective.sampling().top_k(), 7);  // kept
  EXPECT_FLOAT_EQ(effective.sampling().temperature(), 0.5f);
  EXPECT_EQ(effective.stopping().stop().values(0), "The end");

  grpc::ClientContext c3;
  v1::ConfigureRequest bad;
  bad.mutable_sampling()->set_top_k(-3);
  const grpc::Status s = server_->runtime().Configure(&c3, bad, &effective);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(s, "sampling"));

  grpc::ClientContext c4;
  v1::ConfigureRequest bias;
  auto* entry = bias.mutable_sampling()->mutable_logit_bias()->add_entries();
  entry->set_token(100000);  // outside the vocabulary: needs the model
  const grpc::Status bias_status =
      server_->runtime().Configure(&c4, bias, &effective);
  EXPECT_EQ(bias_status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(bias_status, "sampling"));

  grpc::ClientContext c5;
  v1::ConfigureRequest stop;
  stop.mutable_stopping()->mutable_stop_token_ids()->add_ids(100000);
  const grpc::Status stop_status =
      server_->runtime().Configure(&c5, stop, &effective);
  EXPECT_EQ(stop_status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(HasFieldViolation(stop_status, "stopping"));
}

TEST_F(ServiceRpcTest, ModelInfoReleaseNoModelAndReload) {
  grpc::ClientContext c1;
  v1::GetModelInfoRequest info_request;
  v1::ModelInfo info;
  ASSERT_TRUE(server_->runtime().GetModelInfo(&c1, info_request, &info).ok());
  EXPECT_EQ(info.architecture(), "llama");
  EXPECT_EQ(info.vocab_size(), 512);
  EXPECT_EQ(info.path(), "stories260K.gguf");
  EXPECT_EQ(Health("ggufd.v1.Inference"),
            grpc::health::v1::HealthCheckResponse::SERVING);

  grpc::ClientContext c2;
  v1::ReleaseRequest release;
  v1::ReleaseResponse released;
  ASSERT_TRUE(server_->runtime().Release(&c2, release, &released).ok());
  const GenerateResult r = Generate(server_->inference(), TextRequest("x", 2));
  EXPECT_EQ(r.status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorCodeOf(r.status), 5);  // NO_MODEL
  EXPECT_TRUE(Eventually([&] {
    return Health("ggufd.v1.Inference") ==
           grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }));
  EXPECT_EQ(Health(""), grpc::health::v1::HealthCheckResponse::SERVING);

  // LoadModel streams progress and ends with the model's info.
  grpc::ClientContext c3;
  v1::LoadModelRequest load;
  load.set_path("stories260K.gguf");
  auto reader = server_->runtime().LoadModel(&c3, load);
  v1::LoadModelEvent event;
  int progress = 0;
  v1::ModelInfo loaded;
  while (reader->Read(&event)) {
    if (event.has_progress()) {
      ++progress;
      EXPECT_EQ(loaded.vocab_size(), 0);  // progress comes first
    }
    if (event.has_model()) loaded = event.model();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GT(progress, 0);
  EXPECT_EQ(loaded.vocab_size(), 512);
  EXPECT_TRUE(Eventually([&] {
    return Health("ggufd.v1.Inference") ==
           grpc::health::v1::HealthCheckResponse::SERVING;
  }));
  EXPECT_TRUE(Generate(server_->inference(), TextRequest("x", 2)).status.ok());
}

TEST_F(ServiceRpcTest, LoadModelPathsAreConfined) {
  const std::string outside = std::filesystem::path(GGUFD_MODELS_DIR) /
                              "SmolLM2-135M-Instruct.Q4_1.gguf";
  EXPECT_EQ(Load(*server_, "", "../models/stories260K.gguf").error_code(),
            grpc::PERMISSION_DENIED);
  EXPECT_EQ(Load(*server_, "", outside).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(Load(*server_, "", "/etc/passwd").error_code(),
            grpc::PERMISSION_DENIED);
  const grpc::Status missing = Load(*server_, "", "missing.gguf");
  EXPECT_EQ(missing.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(ErrorCodeOf(missing), 2);
  // A bad file is a clean error and the old model stays.
  EXPECT_EQ(Load(*server_, "", "stories260K.greedy.json").error_code(),
            grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(Generate(server_->inference(), TextRequest("x", 2)).status.ok());
}

TEST_F(ServiceRpcTest, RuntimesAreCreatedListedAndDeleted) {
  grpc::ClientContext c1;
  v1::CreateRuntimeRequest create;
  create.set_name("second");
  create.set_queue_capacity(3);
  v1::RuntimeInfo info;
  ASSERT_TRUE(server_->runtime().CreateRuntime(&c1, create, &info).ok());
  EXPECT_EQ(info.state(), v1::RUNTIME_STATE_EMPTY);
  EXPECT_EQ(info.queue_capacity(), 3);
  grpc::ClientContext c2;
  EXPECT_EQ(server_->runtime().CreateRuntime(&c2, create, &info).error_code(),
            grpc::ALREADY_EXISTS);
  grpc::ClientContext c3;
  v1::ListRuntimesResponse list;
  ASSERT_TRUE(server_->runtime()
                  .ListRuntimes(&c3, v1::ListRuntimesRequest(), &list)
                  .ok());
  ASSERT_EQ(list.runtimes_size(), 2);
  EXPECT_EQ(list.runtimes(0).name(), "default");
  EXPECT_EQ(list.runtimes(0).state(), v1::RUNTIME_STATE_READY);
  EXPECT_EQ(list.runtimes(1).name(), "second");
  // An empty runtime has no model.
  EXPECT_EQ(
      ErrorCodeOf(
          Generate(server_->inference(), TextRequest("x", 2, "second")).status),
      5);
  grpc::ClientContext c4;
  v1::DeleteRuntimeRequest del;
  del.set_name("second");
  v1::DeleteRuntimeResponse deleted;
  ASSERT_TRUE(server_->runtime().DeleteRuntime(&c4, del, &deleted).ok());
  EXPECT_EQ(Generate(server_->inference(), TextRequest("x", 2, "second"))
                .status.error_code(),
            grpc::NOT_FOUND);
  grpc::ClientContext c5;
  del.set_name("default");
  EXPECT_EQ(server_->runtime().DeleteRuntime(&c5, del, &deleted).error_code(),
            grpc::INVALID_ARGUMENT);
}

TEST_F(ServiceRpcTest, TwoRuntimesRunInParallel) {
  grpc::ClientContext c1;
  v1::CreateRuntimeRequest create;
  create.set_name("b");
  v1::RuntimeInfo info;
  ASSERT_TRUE(server_->runtime().CreateRuntime(&c1, create, &info).ok());
  ASSERT_TRUE(Load(*server_, "b", "stories260K.gguf").ok());
  // With "default" held inside a command, "b" still serves.
  Stall(*server_, "default");
  const GenerateResult r =
      Generate(server_->inference(), TextRequest("Once", 8, "b"));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(Status(*server_, "default").running_operation(), "stall");
  Resume(*server_);
  EXPECT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 4)).status.ok());
}

TEST_F(ServiceRpcTest, DiagnosticsReportStatus) {
  ASSERT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 6)).status.ok());
  v1::RuntimeStatus status = Status(*server_, "default", /*fresh=*/true);
  EXPECT_EQ(status.runtime(), "default");
  EXPECT_TRUE(status.model_loaded());
  EXPECT_EQ(status.counters().generations(), 1u);
  EXPECT_EQ(status.counters().generated_tokens(), 6u);
  EXPECT_EQ(status.max_concurrent_entries(), 1);
  EXPECT_GT(status.kv_tokens_used(), 0);

  grpc::ClientContext context;
  v1::WatchStatusRequest watch;
  watch.set_interval_ms(50);
  auto reader = server_->diagnostics().WatchStatus(&context, watch);
  v1::RuntimeStatus update;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(reader->Read(&update));
    EXPECT_EQ(update.runtime(), "default");
  }
  context.TryCancel();
  while (reader->Read(&update)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::CANCELLED);
}

TEST_F(ServiceRpcTest, CancelOfAnUnknownIdIsNotFound) {
  grpc::ClientContext context;
  v1::CancelRequest request;
  request.set_request_id("nobody");
  v1::CancelResponse response;
  ASSERT_TRUE(server_->inference().Cancel(&context, request, &response).ok());
  EXPECT_FALSE(response.found());
}

TEST_F(ServiceRpcTest, HealthWatchSeesChanges) {
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("ggufd.v1.Inference");
  auto reader = server_->health().Watch(&context, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  grpc::ClientContext c2;
  v1::ReleaseResponse released;
  ASSERT_TRUE(
      server_->runtime().Release(&c2, v1::ReleaseRequest(), &released).ok());
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  reader->Finish();
}

}  // namespace
}  // namespace ggufd::testing
