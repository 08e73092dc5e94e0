// Chat templates: turn a conversation into the prompt text a chat model was
// trained on. Models carry their template as Jinja text
// (tokenizer.chat_template); like llama.cpp (llm_chat_detect_template) we
// recognize the template family by its marker strings and format it with
// native code instead of running a Jinja interpreter.
#ifndef GGUFD_RUNTIME_CHAT_CHAT_TEMPLATE_H_
#define GGUFD_RUNTIME_CHAT_CHAT_TEMPLATE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ggufd::chat {

enum class TemplateFamily {
  kChatMl,  // <|im_start|>role\n...<|im_end|> (SmolLM2, Qwen)
  kGemma,   // <start_of_turn>user\n...<end_of_turn> (Gemma 1-3)
  kLlama2,  // [INST] <<SYS>>...<</SYS>> ... [/INST] (Llama 2, Mistral v1)
  kLlama3,  // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
};

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// The family's name as clients spell it: "chatml", "gemma", "llama2",
// "llama3".
std::string_view TemplateFamilyName(TemplateFamily family);

// Parses a family name (as TemplateFamilyName spells it); InvalidArgument
// listing the known names otherwise.
absl::StatusOr<TemplateFamily> ParseTemplateFamily(std::string_view name);

// Recognizes the family of a tokenizer.chat_template text. NotFound when
// the text is empty or matches no known family.
absl::StatusOr<TemplateFamily> DetectTemplateFamily(
    std::string_view template_text);

// A formatted conversation and where each message's content lies in it:
// the template's own text may hold special tokens, content never does.
struct ChatText {
  std::string text;
  std::vector<std::pair<size_t, size_t>> content;  // [begin, end) offsets
};

absl::StatusOr<ChatText> FormatChatText(
    TemplateFamily family, const std::vector<ChatMessage>& messages,
    bool add_generation_prompt);

// Formats `messages` in `family`'s format. With `add_generation_prompt` the
// text ends with the assistant's turn header, so the model answers next.
// BOS is not included: the tokenizer adds it by the model's own rule.
// InvalidArgument for an unknown role, an empty conversation, or a system
// message anywhere but first.
absl::StatusOr<std::string> FormatChat(TemplateFamily family,
                                       const std::vector<ChatMessage>& messages,
                                       bool add_generation_prompt);

// How `family` ends an assistant turn: the end-of-turn text (whose token
// ends generation) and the text that follows it before the next turn. A
// session closes each answer with these, so the next turn's messages
// continue the conversation exactly as FormatChat would have written it.
struct TurnEnd {
  std::string_view end_of_turn;
  std::string_view after;
};
TurnEnd AssistantTurnEnd(TemplateFamily family);

}  // namespace ggufd::chat

#endif  // GGUFD_RUNTIME_CHAT_CHAT_TEMPLATE_H_
