// The OpenAI answers of one chat or text completion, built from the
// GenerateEvents of the shared stream: the whole answer (non-streaming) or
// its chunks (streaming, each the data of one server-sent event).
//
// Finish reasons: end of generation, a stop string or stop token, and a
// complete constrained answer are "stop"; max_tokens and a full context are
// "length"; a generation cancelled while running (Inference.Cancel, or the
// drain's grace period running out) is "cancelled", which OpenAI's API does
// not have: the answer is cut, and saying "stop" would hide that.
#ifndef GGUFD_SERVICE_HTTP_OPENAI_RESPONSE_H_
#define GGUFD_SERVICE_HTTP_OPENAI_RESPONSE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ggufd/v1/inference.pb.h"
#include "nlohmann/json.hpp"
#include "service/http/openai_request.h"

namespace ggufd::http {

// The text of a token id (its bytes), for top_logprobs alternatives, which
// the stream reports by id; nullopt when it cannot be spelled.
using TokenSpeller = std::function<std::optional<std::string>(int32_t)>;

const char* FinishReasonName(v1::FinishReason reason);

class CompletionBuilder {
 public:
  struct Options {
    Endpoint endpoint = Endpoint::kChatCompletions;
    std::string id;     // "chatcmpl-<request id>" / "cmpl-<request id>"
    std::string model;  // as the request named it
    int64_t created = 0;
    bool logprobs = false;
    bool include_usage = false;
    TokenSpeller speller;  // may be null
  };
  explicit CompletionBuilder(Options options);

  // Streaming: the first chunk (the assistant's role, for chat; nothing
  // for completions), a chunk per Chunk event (nullopt when it carries
  // nothing), and the last ones (the finish reason, then the usage when
  // asked for). The caller adds "data: [DONE]".
  std::optional<nlohmann::json> FirstChunk() const;
  std::optional<nlohmann::json> ChunkOf(const v1::Chunk& chunk);
  std::vector<nlohmann::json> LastChunks(const v1::Finished& finished);

  // Not streaming: collect the chunks, then the whole answer.
  void Append(const v1::Chunk& chunk);
  nlohmann::json Whole(const v1::Finished& finished) const;

 private:
  nlohmann::json Envelope(const char* object) const;
  // The logprobs of `tokens` in the endpoint's format (null without).
  nlohmann::json Logprobs(
      const google::protobuf::RepeatedPtrField<v1::Token>& tokens);
  nlohmann::json Usage(const v1::Finished& finished) const;

  const Options options_;
  std::string text_;           // collected (non-streaming)
  nlohmann::json content_;     // chat: logprobs.content entries collected
  nlohmann::json completion_;  // completions: the four logprobs lists
  size_t offset_ = 0;          // bytes of completion text spelled so far
};

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_OPENAI_RESPONSE_H_
