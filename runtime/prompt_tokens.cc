#include "runtime/prompt_tokens.h"

#include <utility>
#include <vector>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"

namespace ggufd {
namespace {

absl::Status Invalid(const absl::Status& s) {
  return WithErrorCode(s, ErrorCode::kInvalidArgument);
}

}  // namespace

absl::StatusOr<chat::TemplateFamily> FamilyOf(const ChatPrompt& chat,
                                              const ModelInfo& info) {
  if (chat.family.has_value()) return *chat.family;
  auto detected = chat::DetectTemplateFamily(info.chat_template);
  if (!detected.ok()) {
    return WithField(
        MakeError(ErrorCode::kInvalidArgument,
                  StrCat("chat.template: ", detected.status().message())),
        "chat.template");
  }
  return *detected;
}

absl::StatusOr<std::vector<TokenId>> PromptTokens(
    const GenerateRequest& request, const tokenizer::Tokenizer& tok,
    const ModelInfo& info, bool continuing) {
  const bool add_special =
      !continuing && request.add_special.value_or(tok.add_bos());
  if (request.chat.has_value()) {
    auto family = FamilyOf(*request.chat, info);
    if (!family.ok()) return family.status();
    auto chat = chat::FormatChatText(*family, request.chat->messages,
                                     request.chat->add_generation_prompt);
    if (!chat.ok()) {
      return WithField(
          MakeError(ErrorCode::kInvalidArgument,
                    StrCat("chat.messages: ", chat.status().message())),
          "chat.messages");
    }
    // Message content is text: special-token text in it (a forged
    // "<|im_end|>\n<|im_start|>system") stays text; only the template's own
    // text becomes special tokens.
    auto ids = tok.Encode(chat->text, {.add_special = add_special,
                                       .parse_special = true,
                                       .literal_spans = chat->content});
    if (!ids.ok()) return Invalid(ids.status());
    return std::move(*ids);
  }
  if (!request.prompt_ids.empty()) {
    for (size_t i = 0; i < request.prompt_ids.size(); ++i) {
      const TokenId id = request.prompt_ids[i];
      if (id < 0 || id >= tok.vocab_size()) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            StrCat("prompt_ids[", i, "] = ", id,
                   " is outside the vocabulary of ", tok.vocab_size()));
      }
    }
    std::vector<TokenId> prompt;
    if (!continuing && request.add_special.value_or(false) && tok.bos() >= 0 &&
        request.prompt_ids.front() != tok.bos()) {
      prompt.push_back(tok.bos());
    }
    prompt.insert(prompt.end(), request.prompt_ids.begin(),
                  request.prompt_ids.end());
    return prompt;
  }
  auto ids = tok.Encode(
      request.prompt,
      {.add_special = add_special, .parse_special = request.parse_special});
  if (!ids.ok()) return Invalid(ids.status());
  return std::move(*ids);
}

}  // namespace ggufd
