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

// Builds the formatted text and remembers where message content lies.
class Writer {
 public:
  void Add(std::string_view text) { out_.text.append(text); }
  void Content(std::string_view text) {
    const size_t begin = out_.text.size();
    out_.text.append(text);
    out_.content.push_back({begin, out_.text.size()});
  }
  ChatText Take() { return std::move(out_); }

 private:
  ChatText out_;
};

void FormatChatMl(const std::vector<ChatMessage>& messages,
                  bool add_generation_prompt, Writer& w) {
  for (const ChatMessage& m : messages) {
    w.Add(StrCat("<|im_start|>", m.role, "\n"));
    w.Content(m.content);
    w.Add("<|im_end|>\n");
  }
  if (add_generation_prompt) w.Add("<|im_start|>assistant\n");
}

// Gemma has no system role: the system text opens the first user turn.
void FormatGemma(const std::vector<ChatMessage>& messages,
                 bool add_generation_prompt, Writer& w) {
  const ChatMessage* pending_system = nullptr;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system = &m;
      continue;
    }
    const std::string_view role = m.role == "assistant" ? "model" : "user";
    w.Add(StrCat("<start_of_turn>", role, "\n"));
    if (role == "user" && pending_system != nullptr) {
      w.Content(pending_system->content);
      w.Add("\n\n");
      pending_system = nullptr;
    }
    w.Content(Trimmed(m.content));
    w.Add("<end_of_turn>\n");
  }
  if (add_generation_prompt) w.Add("<start_of_turn>model\n");
}

// Meta's Llama 2 chat format: each user turn is wrapped in [INST] ...
// [/INST], the system prompt sits inside the first one between <<SYS>>
// markers, and each assistant answer ends with </s><s> before the next turn.
// The template has no generation prompt: the model answers after [/INST].
void FormatLlama2(const std::vector<ChatMessage>& messages, Writer& w) {
  const ChatMessage* pending_system = nullptr;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system = &m;
      continue;
    }
    if (m.role == "user") {
      w.Add("[INST] ");
      if (pending_system != nullptr) {
        w.Add("<<SYS>>\n");
        w.Content(Trimmed(pending_system->content));
        w.Add("\n<</SYS>>\n\n");
        pending_system = nullptr;
      }
      w.Content(Trimmed(m.content));
      w.Add(" [/INST]");
    } else {
      w.Add(" ");
      w.Content(Trimmed(m.content));
      w.Add(" </s><s>");
    }
  }
}

void FormatLlama3(const std::vector<ChatMessage>& messages,
                  bool add_generation_prompt, Writer& w) {
  for (const ChatMessage& m : messages) {
    w.Add(StrCat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n"));
    w.Content(Trimmed(m.content));
    w.Add("<|eot_id|>");
  }
  if (add_generation_prompt) {
    w.Add("<|start_header_id|>assistant<|end_header_id|>\n\n");
  }
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

absl::StatusOr<ChatText> FormatChatText(
    TemplateFamily family, const std::vector<ChatMessage>& messages,
    bool add_generation_prompt) {
  if (absl::Status s = CheckMessages(messages); !s.ok()) return s;
  Writer w;
  switch (family) {
    case TemplateFamily::kChatMl:
      FormatChatMl(messages, add_generation_prompt, w);
      break;
    case TemplateFamily::kGemma:
      FormatGemma(messages, add_generation_prompt, w);
      break;
    case TemplateFamily::kLlama2:
      FormatLlama2(messages, w);
      break;
    case TemplateFamily::kLlama3:
      FormatLlama3(messages, add_generation_prompt, w);
      break;
  }
  return w.Take();
}

absl::StatusOr<std::string> FormatChat(TemplateFamily family,
                                       const std::vector<ChatMessage>& messages,
                                       bool add_generation_prompt) {
  auto text = FormatChatText(family, messages, add_generation_prompt);
  if (!text.ok()) return text.status();
  return std::move(text->text);
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
