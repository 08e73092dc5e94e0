// OpenAI request bodies (chat completions, completions, embeddings) turned
// into the ggufd.v1 requests the gRPC API takes, so the HTTP door runs the
// very same calls. Only the translation lives here: every range and limit
// is checked where gRPC requests are checked. A field that cannot be
// translated (n > 1, tools, an image part...) is INVALID_ARGUMENT naming
// the OpenAI field, never silently dropped.
#ifndef GGUFD_SERVICE_HTTP_OPENAI_REQUEST_H_
#define GGUFD_SERVICE_HTTP_OPENAI_REQUEST_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ggufd/v1/inference.pb.h"
#include "nlohmann/json.hpp"

namespace ggufd::http {

enum class Endpoint { kChatCompletions, kCompletions };

struct OpenAiGenerate {
  v1::GenerateRequest request;
  std::string model;  // as sent (the runtime's name); echoed in answers
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // Per-token log-probabilities in the answer, with this many alternatives.
  bool logprobs = false;
  int top_logprobs = 0;
  std::string user;  // OpenAI's end-user id, for the log
};

// Deepest nesting of arrays and objects a body may have: parsing is
// iterative, but walking and printing a document are not.
inline constexpr int kMaxJsonDepth = 128;

// The JSON body, or INVALID_ARGUMENT when it does not parse, nests deeper
// than kMaxJsonDepth or is not an object.
absl::StatusOr<nlohmann::json> ParseBody(std::string_view body);

// `session_header`: the x-ggufd-session header ("" when absent); a
// `session_id` field in the body does the same.
absl::StatusOr<OpenAiGenerate> ToGenerateRequest(
    Endpoint endpoint, const nlohmann::json& body,
    std::string_view session_header);

struct OpenAiEmbed {
  v1::EmbedRequest request;
  std::string model;
  bool base64 = false;  // encoding_format
  std::string user;
};

absl::StatusOr<OpenAiEmbed> ToEmbedRequest(const nlohmann::json& body);

// The OpenAI name of a ggufd.v1 request field named in an error
// ("sampling.top_p" and "sampling" + "top_p must ..." -> "top_p").
std::string OpenAiParam(Endpoint endpoint, std::string_view field,
                        std::string_view description);

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_OPENAI_REQUEST_H_
