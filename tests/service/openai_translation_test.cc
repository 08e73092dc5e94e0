// The HTTP door's translations (service/http/): OpenAI request bodies into
// ggufd.v1 requests, ggufd's errors into OpenAI's error shape and HTTP
// status, and stream events into OpenAI's answers. The end-to-end behaviour
// (through the official openai client and curl) is tests/e2e's
// test_openai_http.py.
#include <string>

#include "gtest/gtest.h"
#include "runtime/error_code.h"
#include "service/http/http_errors.h"
#include "service/http/openai_request.h"
#include "service/http/openai_response.h"
#include "service/status_mapping.h"

namespace ggufd::http {
namespace {

using nlohmann::json;

v1::GenerateRequest Chat(const json& body, std::string_view session = "") {
  auto out = ToGenerateRequest(Endpoint::kChatCompletions, body, session);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? out->request : v1::GenerateRequest();
}

// The OpenAI field a refused body names.
std::string RefusedParam(Endpoint endpoint, const json& body) {
  auto out = ToGenerateRequest(endpoint, body, "");
  EXPECT_FALSE(out.ok());
  if (out.ok()) return "";
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  return ViolatedField(out.status()).first;
}

TEST(OpenAiRequestTest, ChatBecomesTheSameGenerateRequest) {
  const v1::GenerateRequest r = Chat(json::parse(R"({
    "model": "second",
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                   {"type": "text", "text": "there"}]}],
    "temperature": 0.5, "top_p": 0.9, "seed": 42, "max_completion_tokens": 7,
    "stop": "END", "presence_penalty": 0.25, "frequency_penalty": -0.5,
    "logit_bias": {"13": -100, "7": 2.5}, "top_k": 3,
    "logprobs": true, "top_logprobs": 2})"));
  EXPECT_EQ(r.runtime(), "second");
  ASSERT_EQ(r.chat().messages_size(), 2);
  EXPECT_EQ(r.chat().messages(0).role(), "system");
  EXPECT_EQ(r.chat().messages(1).content(), "Hi\nthere");
  EXPECT_FLOAT_EQ(r.sampling().temperature(), 0.5f);
  EXPECT_FLOAT_EQ(r.sampling().top_p(), 0.9f);
  EXPECT_EQ(r.sampling().seed(), 42u);
  EXPECT_EQ(r.sampling().top_k(), 3);
  EXPECT_FLOAT_EQ(r.sampling().presence_penalty(), 0.25f);
  EXPECT_FLOAT_EQ(r.sampling().frequency_penalty(), -0.5f);
  ASSERT_EQ(r.sampling().logit_bias().entries_size(), 2);
  EXPECT_EQ(r.stopping().max_tokens(), 7);
  ASSERT_EQ(r.stopping().stop().values_size(), 1);
  EXPECT_EQ(r.stopping().stop().values(0), "END");
  EXPECT_TRUE(r.output().logprobs());
  EXPECT_EQ(r.output().top_logprobs(), 2);
  EXPECT_FALSE(r.has_constraint());
  EXPECT_TRUE(r.session_id().empty());
}

TEST(OpenAiRequestTest, UnsetFieldsKeepTheRuntimesDefaults) {
  const v1::GenerateRequest r =
      Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}},
            {"temperature", nullptr}});
  EXPECT_FALSE(r.has_sampling());
  EXPECT_FALSE(r.has_stopping());
  EXPECT_TRUE(r.runtime().empty());  // the default runtime
}

TEST(OpenAiRequestTest, ResponseFormatsBecomeJsonSchemaConstraints) {
  const json messages = {{{"role", "user"}, {"content", "x"}}};
  const json schema = {{"type", "object"}};
  v1::GenerateRequest r =
      Chat({{"messages", messages},
            {"response_format",
             {{"type", "json_schema"},
              {"json_schema", {{"name", "n"}, {"schema", schema}}}}}});
  EXPECT_EQ(json::parse(r.constraint().json_schema()), schema);
  r = Chat(
      {{"messages", messages}, {"response_format", {{"type", "json_object"}}}});
  EXPECT_EQ(r.constraint().json_schema(), "{}");
  r = Chat({{"messages", messages}, {"response_format", {{"type", "text"}}}});
  EXPECT_FALSE(r.has_constraint());
  EXPECT_EQ(RefusedParam(Endpoint::kChatCompletions,
                         {{"messages", messages},
                          {"response_format", {{"type", "yaml"}}}}),
            "response_format.type");
}

TEST(OpenAiRequestTest, CompletionPrompts) {
  auto text = ToGenerateRequest(Endpoint::kCompletions,
                                {{"prompt", {"Once"}}, {"logprobs", 3}}, "");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->request.text(), "Once");
  EXPECT_EQ(text->top_logprobs, 3);
  auto ids =
      ToGenerateRequest(Endpoint::kCompletions, {{"prompt", {1, 2, 3}}}, "");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->request.tokens().ids_size(), 3);
  EXPECT_EQ(RefusedParam(Endpoint::kCompletions, {{"prompt", {"a", "b"}}}),
            "prompt");
  EXPECT_EQ(RefusedParam(Endpoint::kCompletions, {{"prompt", {-1}}}), "prompt");
  EXPECT_EQ(
      RefusedParam(Endpoint::kCompletions, {{"prompt", "x"}, {"echo", true}}),
      "echo");
  EXPECT_EQ(
      RefusedParam(Endpoint::kCompletions, {{"prompt", "x"}, {"best_of", 2}}),
      "best_of");
}

TEST(OpenAiRequestTest, WhatCannotBeHonouredIsRefusedNamingTheField) {
  const json messages = {{{"role", "user"}, {"content", "x"}}};
  const Endpoint chat = Endpoint::kChatCompletions;
  EXPECT_EQ(RefusedParam(chat, {{"messages", messages}, {"n", 2}}), "n");
  EXPECT_EQ(RefusedParam(chat, {{"messages", messages},
                                {"tools", {{{"type", "function"}}}}}),
            "tools");
  EXPECT_EQ(RefusedParam(chat, {{"messages",
                                 {{{"role", "user"},
                                   {"content", {{{"type", "image_url"}}}}}}}}),
            "messages[0].content[0].type");
  EXPECT_EQ(
      RefusedParam(chat, {{"messages", messages}, {"temperature", "hot"}}),
      "temperature");
  EXPECT_EQ(RefusedParam(chat, {{"messages", messages}, {"seed", -1}}), "seed");
  EXPECT_EQ(RefusedParam(
                chat, {{"messages", messages}, {"logit_bias", {{"abc", 1}}}}),
            "logit_bias");
  EXPECT_EQ(RefusedParam(chat, {{"messages", messages}, {"top_logprobs", 2}}),
            "top_logprobs");
  EXPECT_EQ(RefusedParam(chat, {{"messages", "hi"}}), "messages");
  EXPECT_EQ(
      RefusedParam(chat, {{"messages", messages}, {"max_tokens", 1LL << 40}}),
      "max_tokens");
}

TEST(OpenAiRequestTest, SessionFromTheHeaderOrTheBodyNotBothDiffering) {
  const json messages = {{{"role", "user"}, {"content", "x"}}};
  EXPECT_EQ(Chat({{"messages", messages}}, "conv-1").session_id(), "conv-1");
  EXPECT_EQ(
      Chat({{"messages", messages}, {"session_id", "conv-2"}}).session_id(),
      "conv-2");
  auto both =
      ToGenerateRequest(Endpoint::kChatCompletions,
                        {{"messages", messages}, {"session_id", "a"}}, "b");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(ViolatedField(both.status()).first, "session_id");
}

TEST(OpenAiRequestTest, BodiesAreJsonObjectsOfBoundedDepth) {
  EXPECT_TRUE(ParseBody(R"({"a": [1, {"b": "[[[["}]})").ok());
  EXPECT_FALSE(ParseBody("{").ok());
  EXPECT_FALSE(ParseBody("[1]").ok());
  EXPECT_FALSE(ParseBody("{\"a\": \"\xff\"}").ok()) << "not UTF-8";
  const std::string deep = "{\"a\":" + std::string(kMaxJsonDepth, '[') +
                           std::string(kMaxJsonDepth, ']') + "}";
  EXPECT_FALSE(ParseBody(deep).ok());
}

TEST(OpenAiRequestTest, EmbeddingInputs) {
  auto one = ToEmbedRequest({{"input", "a"}, {"encoding_format", "base64"}});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->request.texts_size(), 1);
  EXPECT_TRUE(one->base64);
  auto two = ToEmbedRequest({{"input", {"a", "b"}}, {"model", "m"}});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->request.texts_size(), 2);
  EXPECT_EQ(two->request.runtime(), "m");
  EXPECT_FALSE(ToEmbedRequest({{"input", {1, 2}}}).ok());
  EXPECT_FALSE(ToEmbedRequest({{"input", "a"}, {"dimensions", 8}}).ok());
  EXPECT_FALSE(
      ToEmbedRequest({{"input", "a"}, {"encoding_format", "hex"}}).ok());
}

TEST(OpenAiParamTest, SharedPathFieldsGetTheirOpenAiNames) {
  const Endpoint chat = Endpoint::kChatCompletions;
  EXPECT_EQ(OpenAiParam(chat, "sampling", "top_p must be in [0, 1], got 7"),
            "top_p");
  EXPECT_EQ(OpenAiParam(chat, "sampling", "logit_bias[3] (token 9) must be"),
            "logit_bias");
  EXPECT_EQ(OpenAiParam(chat, "stopping", "stop[0] is 300 bytes"), "stop");
  EXPECT_EQ(OpenAiParam(chat, "stopping.max_tokens", "at most 4096"),
            "max_tokens");
  EXPECT_EQ(OpenAiParam(chat, "chat.messages", "must not be empty"),
            "messages");
  EXPECT_EQ(OpenAiParam(chat, "constraint.json_schema", "bad"),
            "response_format");
  EXPECT_EQ(OpenAiParam(chat, "constraint", "unknown kind"), "response_format");
  EXPECT_EQ(OpenAiParam(chat, "chat.template", "unknown family"),
            "chat_template");
  EXPECT_EQ(OpenAiParam(chat, "output.top_logprobs", "x"), "top_logprobs");
  EXPECT_EQ(OpenAiParam(Endpoint::kCompletions, "output.top_logprobs", "x"),
            "logprobs");
  EXPECT_EQ(OpenAiParam(Endpoint::kCompletions, "tokens.ids", "x"), "prompt");
  EXPECT_EQ(OpenAiParam(chat, "session_id", "x"), "session_id");
}

TEST(HttpErrorTest, StatusReasonFieldAndRetryComeFromTheGrpcMapping) {
  HttpError full = ToHttpError(MakeError(ErrorCode::kQueueFull, "full"));
  EXPECT_EQ(full.status, 429);
  EXPECT_EQ(full.body["error"]["code"], "QUEUE_FULL");
  EXPECT_EQ(full.body["error"]["type"], "rate_limit_error");
  ASSERT_TRUE(full.retry_after.has_value());
  EXPECT_EQ(*full.retry_after, absl::Milliseconds(200));

  HttpError field = ToHttpError(InvalidField("sampling.top_p", "too big"));
  EXPECT_EQ(field.status, 400);
  EXPECT_EQ(field.body["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(field.body["error"]["param"], "sampling.top_p");
  EXPECT_EQ(ToHttpError(InvalidField("sampling.top_p", "x"), "top_p")
                .body["error"]["param"],
            "top_p");
  EXPECT_FALSE(field.retry_after.has_value());

  HttpError model = ToHttpError(ServiceError(
      absl::StatusCode::kNotFound, ErrorCode::kRuntimeNotFound, "no such"));
  EXPECT_EQ(model.status, 404);
  EXPECT_EQ(model.body["error"]["code"], "model_not_found");
  EXPECT_EQ(model.body["error"]["param"], "model");

  EXPECT_EQ(ToHttpError(MakeError(ErrorCode::kMessageTooLarge, "big")).status,
            413);
  EXPECT_EQ(ToHttpError(MakeError(ErrorCode::kUnauthenticated, "who")).status,
            401);
  EXPECT_EQ(ToHttpError(MakeError(ErrorCode::kAccessDenied, "no")).status, 403);
  EXPECT_EQ(
      ToHttpError(MakeError(ErrorCode::kNoModel, "none")).body["error"]["code"],
      "NO_MODEL");
  HttpError draining = ToHttpError(MakeError(ErrorCode::kShuttingDown, "bye"));
  EXPECT_EQ(draining.status, 503);
  EXPECT_EQ(draining.body["error"]["type"], "server_error");
  EXPECT_EQ(draining.retry_after, absl::Seconds(1));
  EXPECT_EQ(ToHttpError(MakeError(ErrorCode::kCancelled, "gone")).status, 499);
}

TEST(CompletionBuilderTest, ChatAnswersAndChunks) {
  CompletionBuilder builder({.endpoint = Endpoint::kChatCompletions,
                             .id = "chatcmpl-1",
                             .model = "default",
                             .created = 5,
                             .include_usage = true});
  v1::Chunk chunk;
  chunk.set_text("Hel");
  EXPECT_EQ(builder.ChunkOf(chunk)->at("choices")[0]["delta"]["content"],
            "Hel");
  EXPECT_FALSE(builder.ChunkOf(v1::Chunk()).has_value());
  builder.Append(chunk);
  chunk.set_text("lo");
  builder.Append(chunk);
  v1::Finished finished;
  finished.set_reason(v1::FINISH_REASON_MAX_TOKENS);
  finished.mutable_usage()->set_prompt_tokens(4);
  finished.mutable_usage()->set_cached_tokens(1);
  finished.mutable_usage()->set_completion_tokens(2);
  const json whole = builder.Whole(finished);
  EXPECT_EQ(whole["choices"][0]["message"]["content"], "Hello");
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(whole["usage"]["total_tokens"], 6);
  EXPECT_EQ(whole["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
  const auto last = builder.LastChunks(finished);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0]["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(last[1]["choices"].empty());
  EXPECT_EQ(last[1]["usage"]["completion_tokens"], 2);
}

TEST(CompletionBuilderTest, FinishReasons) {
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_EOS), "stop");
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_STOP_SEQUENCE), "stop");
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_STOP_TOKEN), "stop");
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_CONSTRAINT_COMPLETE), "stop");
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_MAX_TOKENS), "length");
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_CONTEXT_FULL), "length");
  EXPECT_STREQ(FinishReasonName(v1::FINISH_REASON_CANCELLED), "cancelled");
}

TEST(CompletionBuilderTest, CompletionLogprobsSpellAlternatives) {
  CompletionBuilder builder(
      {.endpoint = Endpoint::kCompletions,
       .logprobs = true,
       .speller = [](int32_t id) -> std::optional<std::string> {
         if (id == 9) return std::nullopt;
         return "t" + std::to_string(id);
       }});
  v1::Chunk chunk;
  chunk.set_text("ab");
  for (const char* bytes : {"a", "b"}) {
    v1::Token* token = chunk.add_tokens();
    token->set_bytes(bytes);
    token->set_logprob(-0.5f);
    for (int id : {1, 9}) {
      v1::TopLogprob* top = token->add_top_logprobs();
      top->set_id(id);
      top->set_logprob(-1.0f);
    }
  }
  builder.Append(chunk);
  const json logprobs = builder.Whole(v1::Finished())["choices"][0]["logprobs"];
  EXPECT_EQ(logprobs["tokens"], json({"a", "b"}));
  EXPECT_EQ(logprobs["text_offset"], json({0, 1}));
  EXPECT_EQ(logprobs["top_logprobs"][1], json({{"t1", -1.0}}))
      << "an id that cannot be spelled is left out";
}

}  // namespace
}  // namespace ggufd::http
