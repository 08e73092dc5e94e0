#include "runtime/chat/chat_template.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "runtime/common/str_cat.h"

namespace ggufd::chat {
namespace {

struct FamilyName {
  TemplateFamily family;
  std::string_view name;
};

constexpr std::array<FamilyName, 4> kFamilies = {{
    {TemplateFamily::kChatMl, "chatml"},
    {TemplateFamily::kGemma, "gemma"},
    {TemplateFamily::kLlama2, "llama2"},
    {TemplateFamily::kLlama3, "llama3"},
}};

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Llama 3 and Llama 2 templates strip surrounding whitespace from content
// (`message['content'] | trim`, `.strip()`).
std::string Trimmed(std::string_view s) {
  const absl::string_view view(s.data(), s.size());
  return std::string(absl::StripAsciiWhitespace(view));
}

absl::Status CheckMessages(const std::vector<ChatMessage>& messages) {
  if (messages.empty()) {
    return absl::InvalidArgumentError("chat has no messages");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role == "system") {
      if (i != 0) {
        return absl::InvalidArgumentError(
            StrCat("messages[", i, "]: a system message may only come first"));
      }
    } else if (role != "user" && role != "assistant") {
      return absl::InvalidArgumentError(
          StrCat("messages[", i,
                 "].role must be \"system\", \"user\" or \"assistant\""));
    }
  }
  return absl::OkStatus();
}

std::string FormatChatMl(const std::vector<ChatMessage>& messages,
                         bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) {
    out += StrCat("<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// Gemma has no system role: the system text opens the first user turn.
std::string FormatGemma(const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  std::string out;
  std::string pending_system;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system = StrCat(m.content, "\n\n");
      continue;
    }
    const std::string_view role = m.role == "assistant" ? "model" : "user";
    out += StrCat("<start_of_turn>", role, "\n");
    if (role == "user") {
      out += pending_system;
      pending_system.clear();
    }
    out += StrCat(Trimmed(m.content), "<end_of_turn>\n");
  }
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

// Meta's Llama 2 chat format: each user turn is wrapped in [INST] ...
// [/INST], the system prompt sits inside the first one between <<SYS>>
// markers, and each assistant answer ends with </s><s> before the next turn.
// The template has no generation prompt: the model answers after [/INST].
std::string FormatLlama2(const std::vector<ChatMessage>& messages) {
  std::string out;
  std::string pending_system;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system =
          StrCat("<<SYS>>\n", Trimmed(m.content), "\n<</SYS>>\n\n");
      continue;
    }
    if (m.role == "user") {
      out += StrCat("[INST] ", pending_system, Trimmed(m.content), " [/INST]");
      pending_system.clear();
    } else {
      out += StrCat(" ", Trimmed(m.content), " </s><s>");
    }
  }
  return out;
}

std::string FormatLlama3(const std::vector<ChatMessage>& messages,
                         bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) {
    out += StrCat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n",
                  Trimmed(m.content), "<|eot_id|>");
  }
  if (add_generation_prompt) {
    out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  return out;
}

}  // namespace

std::string_view TemplateFamilyName(TemplateFamily family) {
  for (const FamilyName& f : kFamilies) {
    if (f.family == family) return f.name;
  }
  return "unknown";
}

absl::StatusOr<TemplateFamily> ParseTemplateFamily(std::string_view name) {
  for (const FamilyName& f : kFamilies) {
    if (f.name == name) return f.family;
  }
  return absl::InvalidArgumentError(
      "unknown chat template family (known: chatml, gemma, llama2, llama3)");
}

// Marker strings as llama.cpp's llm_chat_detect_template checks them; Llama
// 3 comes before ChatML-like checks because its markers are unambiguous.
absl::StatusOr<TemplateFamily> DetectTemplateFamily(
    std::string_view template_text) {
  if (template_text.empty()) {
    return absl::NotFoundError("the model has no chat template");
  }
  if (Contains(template_text, "<|start_header_id|>") &&
      Contains(template_text, "<|end_header_id|>")) {
    return TemplateFamily::kLlama3;
  }
  if (Contains(template_text, "<|im_start|>")) return TemplateFamily::kChatMl;
  if (Contains(template_text, "<start_of_turn>")) return TemplateFamily::kGemma;
  if (Contains(template_text, "[INST]")) return TemplateFamily::kLlama2;
  return absl::NotFoundError(
      "the model's chat template is not a known family; name one "
      "(chatml, gemma, llama2, llama3)");
}

absl::StatusOr<std::string> FormatChat(TemplateFamily family,
                                       const std::vector<ChatMessage>& messages,
                                       bool add_generation_prompt) {
  if (absl::Status s = CheckMessages(messages); !s.ok()) return s;
  switch (family) {
    case TemplateFamily::kChatMl:
      return FormatChatMl(messages, add_generation_prompt);
    case TemplateFamily::kGemma:
      return FormatGemma(messages, add_generation_prompt);
    case TemplateFamily::kLlama2:
      return FormatLlama2(messages);
    case TemplateFamily::kLlama3:
      return FormatLlama3(messages, add_generation_prompt);
  }
  return absl::InternalError("unhandled chat template family");
}

TurnEnd AssistantTurnEnd(TemplateFamily family) {
  switch (family) {
    case TemplateFamily::kChatMl:
      return {"<|im_end|>", "\n"};
    case TemplateFamily::kGemma:
      return {"<end_of_turn>", "\n"};
    case TemplateFamily::kLlama2:
      return {" </s>", "<s>"};
    case TemplateFamily::kLlama3:
      return {"<|eot_id|>", ""};
  }
  return {"", ""};
}

}  // namespace ggufd::chat
