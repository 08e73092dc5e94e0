// The tokens a GenerateRequest's prompt stands for, from its text, its chat
// messages or its token ids.
#ifndef GGUFD_RUNTIME_PROMPT_TOKENS_H_
#define GGUFD_RUNTIME_PROMPT_TOKENS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/chat/chat_template.h"
#include "runtime/generation.h"
#include "runtime/runtime.h"
#include "runtime/tokenizer/tokenizer.h"

namespace ggufd {

// The chat's template family: the requested one or the model's own.
absl::StatusOr<chat::TemplateFamily> FamilyOf(const ChatPrompt& chat,
                                              const ModelInfo& info);

// The tokens `request` adds: its whole prompt, or for a session turn what
// follows the history (`continuing`: the history is not empty, so no BOS).
absl::StatusOr<std::vector<TokenId>> PromptTokens(
    const GenerateRequest& request, const tokenizer::Tokenizer& tok,
    const ModelInfo& info, bool continuing);

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_PROMPT_TOKENS_H_
