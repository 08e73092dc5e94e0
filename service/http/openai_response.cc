#include "service/http/openai_response.h"

#include <utility>

namespace ggufd::http {
namespace {

using nlohmann::json;

json BytesOf(const std::string& bytes) {
  json out = json::array();
  for (unsigned char c : bytes) out.push_back(static_cast<int>(c));
  return out;
}

}  // namespace

const char* FinishReasonName(v1::FinishReason reason) {
  switch (reason) {
    case v1::FINISH_REASON_EOS:
    case v1::FINISH_REASON_STOP_SEQUENCE:
    case v1::FINISH_REASON_STOP_TOKEN:
    case v1::FINISH_REASON_CONSTRAINT_COMPLETE:
      return "stop";
    case v1::FINISH_REASON_MAX_TOKENS:
    case v1::FINISH_REASON_CONTEXT_FULL:
      return "length";
    case v1::FINISH_REASON_CANCELLED:
      return "cancelled";
    default:
      return "stop";
  }
}

CompletionBuilder::CompletionBuilder(Options options)
    : options_(std::move(options)),
      content_(json::array()),
      completion_({{"tokens", json::array()},
                   {"token_logprobs", json::array()},
                   {"top_logprobs", json::array()},
                   {"text_offset", json::array()}}) {}

json CompletionBuilder::Envelope(const char* object) const {
  return {{"id", options_.id},
          {"object", object},
          {"created", options_.created},
          {"model", options_.model}};
}

json CompletionBuilder::Logprobs(
    const google::protobuf::RepeatedPtrField<v1::Token>& tokens) {
  if (!options_.logprobs) return nullptr;
  const bool chat = options_.endpoint == Endpoint::kChatCompletions;
  json content = json::array();
  json completion = {{"tokens", json::array()},
                     {"token_logprobs", json::array()},
                     {"top_logprobs", json::array()},
                     {"text_offset", json::array()}};
  for (const v1::Token& token : tokens) {
    json top = chat ? json::array() : json::object();
    for (const v1::TopLogprob& alt : token.top_logprobs()) {
      std::optional<std::string> text;
      if (options_.speller) text = options_.speller(alt.id());
      if (!text.has_value()) continue;  // cannot be spelled: left out
      if (chat) {
        top.push_back({{"token", *text},
                       {"logprob", alt.logprob()},
                       {"bytes", BytesOf(*text)}});
      } else {
        top[*text] = alt.logprob();
      }
    }
    if (chat) {
      content.push_back({{"token", token.bytes()},
                         {"logprob", token.logprob()},
                         {"bytes", BytesOf(token.bytes())},
                         {"top_logprobs", std::move(top)}});
    } else {
      completion["tokens"].push_back(token.bytes());
      completion["token_logprobs"].push_back(token.logprob());
      completion["top_logprobs"].push_back(std::move(top));
      completion["text_offset"].push_back(offset_);
      offset_ += token.bytes().size();
    }
  }
  if (chat) return {{"content", std::move(content)}};
  return completion;
}

json CompletionBuilder::Usage(const v1::Finished& finished) const {
  const v1::Usage& u = finished.usage();
  return {{"prompt_tokens", u.prompt_tokens()},
          {"completion_tokens", u.completion_tokens()},
          {"total_tokens", u.prompt_tokens() + u.completion_tokens()},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens()}}}};
}

std::optional<json> CompletionBuilder::FirstChunk() const {
  if (options_.endpoint != Endpoint::kChatCompletions) return std::nullopt;
  json chunk = Envelope("chat.completion.chunk");
  chunk["choices"] =
      json::array({{{"index", 0},
                    {"delta", {{"role", "assistant"}, {"content", ""}}},
                    {"logprobs", nullptr},
                    {"finish_reason", nullptr}}});
  if (options_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::optional<json> CompletionBuilder::ChunkOf(const v1::Chunk& in) {
  if (in.text().empty() && (!options_.logprobs || in.tokens_size() == 0)) {
    return std::nullopt;
  }
  const bool chat = options_.endpoint == Endpoint::kChatCompletions;
  json chunk = Envelope(chat ? "chat.completion.chunk" : "text_completion");
  json choice = {{"index", 0},
                 {"logprobs", Logprobs(in.tokens())},
                 {"finish_reason", nullptr}};
  if (chat) {
    choice["delta"] = {{"content", in.text()}};
  } else {
    choice["text"] = in.text();
  }
  chunk["choices"] = json::array({std::move(choice)});
  if (options_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::vector<json> CompletionBuilder::LastChunks(const v1::Finished& finished) {
  const bool chat = options_.endpoint == Endpoint::kChatCompletions;
  std::vector<json> out;
  json chunk = Envelope(chat ? "chat.completion.chunk" : "text_completion");
  json choice = {{"index", 0},
                 {"logprobs", nullptr},
                 {"finish_reason", FinishReasonName(finished.reason())}};
  if (chat) {
    choice["delta"] = json::object();
  } else {
    choice["text"] = "";
  }
  chunk["choices"] = json::array({std::move(choice)});
  if (options_.include_usage) chunk["usage"] = nullptr;
  out.push_back(std::move(chunk));
  if (options_.include_usage) {
    // OpenAI's usage chunk: no choices, the usage of the whole request.
    json usage = Envelope(chat ? "chat.completion.chunk" : "text_completion");
    usage["choices"] = json::array();
    usage["usage"] = Usage(finished);
    out.push_back(std::move(usage));
  }
  return out;
}

void CompletionBuilder::Append(const v1::Chunk& chunk) {
  text_ += chunk.text();
  const json logprobs = Logprobs(chunk.tokens());
  if (logprobs.is_null()) return;
  if (options_.endpoint == Endpoint::kChatCompletions) {
    for (const json& entry : logprobs["content"]) content_.push_back(entry);
  } else {
    for (auto& [key, values] : completion_.items()) {
      for (const json& v : logprobs[key]) values.push_back(v);
    }
  }
}

json CompletionBuilder::Whole(const v1::Finished& finished) const {
  const bool chat = options_.endpoint == Endpoint::kChatCompletions;
  json answer = Envelope(chat ? "chat.completion" : "text_completion");
  json choice = {{"index", 0},
                 {"finish_reason", FinishReasonName(finished.reason())}};
  if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text_}};
    choice["logprobs"] =
        options_.logprobs ? json{{"content", content_}} : json(nullptr);
  } else {
    choice["text"] = text_;
    choice["logprobs"] = options_.logprobs ? completion_ : json(nullptr);
  }
  answer["choices"] = json::array({std::move(choice)});
  answer["usage"] = Usage(finished);
  return answer;
}

}  // namespace ggufd::http
