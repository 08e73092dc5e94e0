#include "runtime/chat/chat_template.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ggufd::chat {
namespace {

// The template of SmolLM2-135M-Instruct, as its GGUF file carries it.
constexpr char kSmolLm2Template[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != "
    "'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named "
    "SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>"
    "' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}";

constexpr char kLlama3Template[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% "
    "set content = '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif "
    "%}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

constexpr char kGemmaTemplate[] =
    "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + role "
    "+ '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor "
    "%}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

constexpr char kLlama2Template[] =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ "
    "bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% elif "
    "message['role'] == 'system' %}{{ '<<SYS>>\\n' + message['content'] + "
    "'\\n<</SYS>>\\n\\n' }}{% endif %}{% endfor %}";

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", "Hi"},
    {"assistant", "Hello!"},
    {"user", "Who are you?"},
};

TEST(ChatTemplateTest, DetectsFamiliesFromTemplateText) {
  EXPECT_EQ(*DetectTemplateFamily(kSmolLm2Template), TemplateFamily::kChatMl);
  EXPECT_EQ(*DetectTemplateFamily(kLlama3Template), TemplateFamily::kLlama3);
  EXPECT_EQ(*DetectTemplateFamily(kGemmaTemplate), TemplateFamily::kGemma);
  EXPECT_EQ(*DetectTemplateFamily(kLlama2Template), TemplateFamily::kLlama2);
}

TEST(ChatTemplateTest, RefusesUnknownOrMissingTemplates) {
  EXPECT_EQ(DetectTemplateFamily("").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      DetectTemplateFamily("{{ messages | custom_filter }}").status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseTemplateFamily("vicuna").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, FamilyNamesRoundTrip) {
  for (TemplateFamily f : {TemplateFamily::kChatMl, TemplateFamily::kGemma,
                           TemplateFamily::kLlama2, TemplateFamily::kLlama3}) {
    EXPECT_EQ(*ParseTemplateFamily(TemplateFamilyName(f)), f);
  }
}

TEST(ChatTemplateTest, FormatsChatMl) {
  EXPECT_EQ(*FormatChat(TemplateFamily::kChatMl, kConversation,
                        /*add_generation_prompt=*/true),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nWho are you?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(*FormatChat(TemplateFamily::kChatMl, {{"user", "Hi"}},
                        /*add_generation_prompt=*/false),
            "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, FormatsGemmaWithSystemInFirstUserTurn) {
  EXPECT_EQ(*FormatChat(TemplateFamily::kGemma, kConversation,
                        /*add_generation_prompt=*/true),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
            "<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nWho are you?<end_of_turn>\n"
            "<start_of_turn>model\n");
}

TEST(ChatTemplateTest, FormatsLlama3) {
  EXPECT_EQ(*FormatChat(TemplateFamily::kLlama3,
                        {{"system", " Be brief. "}, {"user", "Hi\n"}},
                        /*add_generation_prompt=*/true),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, FormatsLlama2) {
  EXPECT_EQ(*FormatChat(TemplateFamily::kLlama2, kConversation,
                        /*add_generation_prompt=*/true),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]"
            " Hello! </s><s>"
            "[INST] Who are you? [/INST]");
}

TEST(ChatTemplateTest, RejectsBadConversations) {
  EXPECT_EQ(FormatChat(TemplateFamily::kChatMl, {}, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FormatChat(TemplateFamily::kChatMl, {{"tool", "x"}}, true)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FormatChat(TemplateFamily::kLlama3,
                       {{"user", "a"}, {"system", "late"}}, true)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ggufd::chat
