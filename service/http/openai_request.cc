#include "service/http/openai_request.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "runtime/common/json_depth.h"
#include "runtime/common/str_cat.h"
#include "runtime/sampling/sampling_params.h"
#include "service/status_mapping.h"

namespace ggufd::http {
namespace {

using nlohmann::json;

// The most texts one embeddings request may carry (EmbedRequest's bound).
constexpr size_t kMaxEmbedInputs = 256;

absl::Status Invalid(std::string_view field, std::string_view message) {
  return InvalidField(ToAbsl(field), ToAbsl(message));
}

// A field that is absent or JSON null is unset.
const json* Field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::StatusOr<std::optional<bool>> Bool(const json& body, const char* name) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return Invalid(name, "must be a boolean");
  return std::optional<bool>(v->get<bool>());
}

absl::StatusOr<std::optional<double>> Number(const json& body,
                                             const char* name) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) return Invalid(name, "must be a number");
  return std::optional<double>(v->get<double>());
}

absl::StatusOr<std::optional<int64_t>> Integer(const json& body,
                                               const char* name, int64_t lo,
                                               int64_t hi) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) {
      return Invalid(name, StrCat("must be in [", lo, ", ", hi, "]"));
    }
    return std::optional<int64_t>(static_cast<int64_t>(u));
  }
  if (!v->is_number_integer()) return Invalid(name, "must be an integer");
  const int64_t i = v->get<int64_t>();
  if (i < lo || i > hi) {
    return Invalid(name, StrCat("must be in [", lo, ", ", hi, "]"));
  }
  return std::optional<int64_t>(i);
}

absl::StatusOr<std::optional<std::string>> String(const json& body,
                                                  const char* name) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return Invalid(name, "must be a string");
  return std::optional<std::string>(v->get<std::string>());
}

#define ASSIGN_OR_RETURN_HTTP(lhs, expr)        \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)

// Refuses what OpenAI requests may carry but ggufd cannot honour.
absl::Status RefuseUnsupported(const json& body, Endpoint endpoint) {
  ASSIGN_OR_RETURN_HTTP(n, Integer(body, "n", 0, 1 << 20));
  if (n.has_value() && *n != 1) {
    return Invalid("n", "only n = 1 is supported (one choice per request)");
  }
  for (const char* name : {"tools", "functions"}) {
    const json* v = Field(body, name);
    if (v != nullptr && !(v->is_array() && v->empty())) {
      return Invalid(name, "tool and function calling are not supported");
    }
  }
  if (endpoint == Endpoint::kCompletions) {
    ASSIGN_OR_RETURN_HTTP(best_of, Integer(body, "best_of", 0, 1 << 20));
    if (best_of.has_value() && *best_of != 1) {
      return Invalid("best_of", "only best_of = 1 is supported");
    }
    ASSIGN_OR_RETURN_HTTP(echo, Bool(body, "echo"));
    if (echo.value_or(false)) return Invalid("echo", "echo is not supported");
    ASSIGN_OR_RETURN_HTTP(suffix, String(body, "suffix"));
    if (suffix.has_value() && !suffix->empty()) {
      return Invalid("suffix", "suffix (insertion) is not supported");
    }
  }
  return absl::OkStatus();
}

// A message's content: a string, or text parts (joined by newlines).
absl::StatusOr<std::string> MessageContent(const json& message,
                                           const std::string& where) {
  const json* content = Field(message, "content");
  if (content == nullptr) {
    if (Field(message, "tool_calls") != nullptr ||
        Field(message, "function_call") != nullptr) {
      return Invalid(where + ".tool_calls", "tool calls are not supported");
    }
    return std::string();
  }
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) {
    return Invalid(where + ".content", "must be a string or an array of parts");
  }
  std::string text;
  for (size_t i = 0; i < content->size(); ++i) {
    const json& part = (*content)[i];
    const std::string at = StrCat(where, ".content[", i, "]");
    if (!part.is_object()) return Invalid(at, "must be an object");
    const json* type = Field(part, "type");
    if (type == nullptr || !type->is_string() || *type != "text") {
      return Invalid(at + ".type", "only text parts are supported");
    }
    const json* part_text = Field(part, "text");
    if (part_text == nullptr || !part_text->is_string()) {
      return Invalid(at + ".text", "must be a string");
    }
    if (i > 0) text += '\n';
    text += part_text->get<std::string>();
  }
  return text;
}

absl::Status ToChat(const json& body, v1::GenerateRequest& out) {
  const json* messages = Field(body, "messages");
  if (messages == nullptr || !messages->is_array()) {
    return Invalid("messages", "must be an array of messages");
  }
  v1::ChatPrompt& chat = *out.mutable_chat();
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string where = StrCat("messages[", i, "]");
    if (!m.is_object()) return Invalid(where, "must be an object");
    const json* role = Field(m, "role");
    if (role == nullptr || !role->is_string()) {
      return Invalid(where + ".role", "must be a string");
    }
    ASSIGN_OR_RETURN_HTTP(content, MessageContent(m, where));
    v1::ChatMessage& message = *chat.add_messages();
    // OpenAI's newer name for the system role.
    const std::string r = role->get<std::string>();
    message.set_role(r == "developer" ? "system" : r);
    message.set_content(std::move(content));
  }
  ASSIGN_OR_RETURN_HTTP(template_name, String(body, "chat_template"));
  if (template_name.has_value()) chat.set_template_(*template_name);
  return absl::OkStatus();
}

absl::Status ToPrompt(const json& body, v1::GenerateRequest& out) {
  const json* prompt = Field(body, "prompt");
  if (prompt == nullptr) {
    return Invalid("prompt", "must be a string or an array of token ids");
  }
  // One prompt per request: a list holding one is taken as that one.
  if (prompt->is_array() && prompt->size() == 1 &&
      ((*prompt)[0].is_string() || (*prompt)[0].is_array())) {
    prompt = &(*prompt)[0];
  }
  if (prompt->is_string()) {
    out.set_text(prompt->get<std::string>());
    return absl::OkStatus();
  }
  if (!prompt->is_array()) {
    return Invalid("prompt", "must be a string or an array of token ids");
  }
  v1::TokenIdList& ids = *out.mutable_tokens();
  for (const json& id : *prompt) {
    if (id.is_string() || id.is_array()) {
      return Invalid("prompt", "only one prompt per request is supported");
    }
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      return Invalid("prompt", "token ids must be non-negative integers");
    }
    ids.add_ids(static_cast<int32_t>(id.get<int64_t>()));
  }
  return absl::OkStatus();
}

absl::Status ToSampling(const json& body, v1::SamplingParams& out) {
  // OpenAI's sampling fields, and llama.cpp's extensions of them.
  const std::pair<const char*, void (v1::SamplingParams::*)(float)> floats[] = {
      {"temperature", &v1::SamplingParams::set_temperature},
      {"top_p", &v1::SamplingParams::set_top_p},
      {"presence_penalty", &v1::SamplingParams::set_presence_penalty},
      {"frequency_penalty", &v1::SamplingParams::set_frequency_penalty},
      {"min_p", &v1::SamplingParams::set_min_p},
      {"repeat_penalty", &v1::SamplingParams::set_repeat_penalty}};
  for (const auto& [name, set] : floats) {
    ASSIGN_OR_RETURN_HTTP(value, Number(body, name));
    if (value.has_value()) (out.*set)(static_cast<float>(*value));
  }
  ASSIGN_OR_RETURN_HTTP(
      top_k, Integer(body, "top_k", 0, std::numeric_limits<int32_t>::max()));
  if (top_k.has_value()) out.set_top_k(static_cast<int32_t>(*top_k));
  ASSIGN_OR_RETURN_HTTP(
      seed, Integer(body, "seed", 0, std::numeric_limits<int64_t>::max()));
  if (seed.has_value()) out.set_seed(static_cast<uint64_t>(*seed));
  if (const json* bias = Field(body, "logit_bias")) {
    if (!bias->is_object()) {
      return Invalid("logit_bias", "must map token ids to biases");
    }
    v1::LogitBiasList& list = *out.mutable_logit_bias();
    for (const auto& [key, value] : bias->items()) {
      char* end = nullptr;
      const long long token = std::strtoll(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || token < 0 ||
          token > std::numeric_limits<int32_t>::max()) {
        return Invalid("logit_bias",
                       StrCat("\"", key.substr(0, 32), "\" is not a token id"));
      }
      if (!value.is_number()) {
        return Invalid("logit_bias", "biases must be numbers");
      }
      v1::LogitBias& entry = *list.add_entries();
      entry.set_token(static_cast<int32_t>(token));
      entry.set_bias(value.get<float>());
    }
  }
  return absl::OkStatus();
}

absl::Status ToStopping(const json& body, v1::StoppingParams& out) {
  // max_completion_tokens is the chat API's newer name for max_tokens.
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    ASSIGN_OR_RETURN_HTTP(
        max_tokens,
        Integer(body, name, 0, std::numeric_limits<int32_t>::max()));
    if (max_tokens.has_value()) {
      out.set_max_tokens(static_cast<int32_t>(*max_tokens));
    }
  }
  if (const json* stop = Field(body, "stop")) {
    v1::StringList& list = *out.mutable_stop();
    if (stop->is_string()) {
      list.add_values(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& s : *stop) {
        if (!s.is_string()) return Invalid("stop", "must hold strings");
        list.add_values(s.get<std::string>());
      }
    } else {
      return Invalid("stop", "must be a string or an array of strings");
    }
  }
  return absl::OkStatus();
}

absl::Status ToConstraint(const json& body, v1::GenerateRequest& out) {
  const json* format = Field(body, "response_format");
  if (format == nullptr) return absl::OkStatus();
  const json* type = format->is_object() ? Field(*format, "type") : nullptr;
  if (type == nullptr || !type->is_string()) {
    return Invalid("response_format.type", "must be a string");
  }
  const std::string kind = type->get<std::string>();
  if (kind == "text") return absl::OkStatus();
  if (kind == "json_object") {
    out.mutable_constraint()->set_json_schema("{}");  // any JSON value
    return absl::OkStatus();
  }
  if (kind != "json_schema") {
    return Invalid("response_format.type",
                   "must be \"text\", \"json_object\" or \"json_schema\"");
  }
  const json* spec = Field(*format, "json_schema");
  if (spec == nullptr || !spec->is_object()) {
    return Invalid("response_format.json_schema", "must be an object");
  }
  const json* schema = Field(*spec, "schema");
  if (schema != nullptr && !schema->is_object() && !schema->is_boolean()) {
    return Invalid("response_format.json_schema.schema",
                   "must be a JSON Schema (an object)");
  }
  out.mutable_constraint()->set_json_schema(
      schema == nullptr
          ? std::string("{}")
          : schema->dump(-1, ' ', false, json::error_handler_t::replace));
  return absl::OkStatus();
}

absl::Status ToLogprobs(const json& body, Endpoint endpoint,
                        OpenAiGenerate& out) {
  const int max = sampling::kMaxTopLogprobs;
  if (endpoint == Endpoint::kChatCompletions) {
    ASSIGN_OR_RETURN_HTTP(logprobs, Bool(body, "logprobs"));
    ASSIGN_OR_RETURN_HTTP(top, Integer(body, "top_logprobs", 0, max));
    out.logprobs = logprobs.value_or(false);
    if (top.has_value() && *top > 0 && !out.logprobs) {
      return Invalid("top_logprobs", "needs logprobs: true");
    }
    out.top_logprobs = static_cast<int>(top.value_or(0));
  } else {
    // The completions API's logprobs is the number of alternatives.
    ASSIGN_OR_RETURN_HTTP(logprobs, Integer(body, "logprobs", 0, max));
    out.logprobs = logprobs.has_value();
    out.top_logprobs = static_cast<int>(logprobs.value_or(0));
  }
  if (out.logprobs) {
    v1::OutputOptions& output = *out.request.mutable_output();
    output.set_logprobs(true);
    output.set_top_logprobs(out.top_logprobs);
    // The answer spells each token and its alternatives.
    output.set_token_ids(true);
    output.set_token_bytes(true);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<json> ParseBody(std::string_view body) {
  if (JsonNestingDepth(body) > kMaxJsonDepth) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StrCat("the request body nests deeper than ",
                            kMaxJsonDepth, " levels"));
  }
  json parsed = json::parse(body.begin(), body.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the request body is not valid JSON (UTF-8)");
  }
  if (!parsed.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the request body must be a JSON object");
  }
  return parsed;
}

absl::StatusOr<OpenAiGenerate> ToGenerateRequest(
    Endpoint endpoint, const json& body, std::string_view session_header) {
  OpenAiGenerate out;
  v1::GenerateRequest& request = out.request;
  if (absl::Status s = RefuseUnsupported(body, endpoint); !s.ok()) return s;
  ASSIGN_OR_RETURN_HTTP(model, String(body, "model"));
  out.model = model.value_or("");
  request.set_runtime(out.model);
  absl::Status prompt = endpoint == Endpoint::kChatCompletions
                            ? ToChat(body, request)
                            : ToPrompt(body, request);
  if (!prompt.ok()) return prompt;
  v1::SamplingParams sampling;
  if (absl::Status s = ToSampling(body, sampling); !s.ok()) return s;
  if (sampling.ByteSizeLong() > 0) *request.mutable_sampling() = sampling;
  v1::StoppingParams stopping;
  if (absl::Status s = ToStopping(body, stopping); !s.ok()) return s;
  if (stopping.ByteSizeLong() > 0) *request.mutable_stopping() = stopping;
  if (absl::Status s = ToConstraint(body, request); !s.ok()) return s;
  if (absl::Status s = ToLogprobs(body, endpoint, out); !s.ok()) return s;

  ASSIGN_OR_RETURN_HTTP(stream, Bool(body, "stream"));
  out.stream = stream.value_or(false);
  if (const json* options = Field(body, "stream_options")) {
    if (!options->is_object()) {
      return Invalid("stream_options", "must be an object");
    }
    ASSIGN_OR_RETURN_HTTP(usage, Bool(*options, "include_usage"));
    out.include_usage = usage.value_or(false);
  }
  ASSIGN_OR_RETURN_HTTP(user, String(body, "user"));
  out.user = user.value_or("");
  ASSIGN_OR_RETURN_HTTP(session, String(body, "session_id"));
  if (session.has_value() && !session_header.empty() &&
      *session != session_header) {
    return Invalid("session_id",
                   "differs from the x-ggufd-session header; send one");
  }
  request.set_session_id(session.has_value() ? *session
                                             : std::string(session_header));
  return out;
}

absl::StatusOr<OpenAiEmbed> ToEmbedRequest(const json& body) {
  OpenAiEmbed out;
  ASSIGN_OR_RETURN_HTTP(model, String(body, "model"));
  out.model = model.value_or("");
  out.request.set_runtime(out.model);
  const json* input = Field(body, "input");
  if (input == nullptr) {
    return Invalid("input", "must be a string or an array of strings");
  }
  if (input->is_string()) {
    out.request.add_texts(input->get<std::string>());
  } else if (input->is_array()) {
    if (input->size() > kMaxEmbedInputs) {
      return Invalid("input", StrCat("at most ", kMaxEmbedInputs, " inputs"));
    }
    for (const json& text : *input) {
      if (!text.is_string()) {
        return Invalid("input",
                       "must be a string or an array of strings (token id "
                       "inputs are not supported)");
      }
      out.request.add_texts(text.get<std::string>());
    }
  } else {
    return Invalid("input", "must be a string or an array of strings");
  }
  ASSIGN_OR_RETURN_HTTP(format, String(body, "encoding_format"));
  if (format.has_value() && *format != "float" && *format != "base64") {
    return Invalid("encoding_format", "must be \"float\" or \"base64\"");
  }
  out.base64 = format.has_value() && *format == "base64";
  if (Field(body, "dimensions") != nullptr) {
    return Invalid("dimensions",
                   "shortened embeddings are not supported; leave it unset");
  }
  ASSIGN_OR_RETURN_HTTP(user, String(body, "user"));
  out.user = user.value_or("");
  return out;
}

std::string OpenAiParam(Endpoint endpoint, std::string_view field,
                        std::string_view description) {
  std::string_view name = field;
  const std::string_view head = field.substr(0, field.find('.'));
  if (field == "chat.template") return "chat_template";
  if (head == "chat") return "messages";
  if (head == "tokens") return "prompt";
  if (head == "constraint") return "response_format";
  // "sampling" and "stopping" violations name the field in the message.
  if (field == "sampling" || field == "stopping") {
    const size_t end = description.find_first_of(" [:");
    name = description.substr(0, end);
  } else if (const size_t dot = field.rfind('.');
             dot != std::string_view::npos) {
    name = field.substr(dot + 1);
  }
  if (name == "text" || name == "ids") return "prompt";
  if (name == "top_logprobs" && endpoint == Endpoint::kCompletions) {
    return "logprobs";
  }
  if (name == "stop_token_ids") return "stop";
  return std::string(name);
}

}  // namespace ggufd::http
