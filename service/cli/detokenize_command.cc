// `ggufd detokenize -m FILE [--special] IDS...`: the text of the token ids,
// written as raw bytes (no newline added, nothing escaped). Works on
// vocab-only files.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/tokenizer.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

struct DetokenizeArgs {
  std::string model;
  std::vector<std::string> ids;
  bool special = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "ggufd detokenize: %s\n", message.c_str());
  return 1;
}

int RunDetokenize(const DetokenizeArgs& args) {
  std::vector<tokenizer::TokenId> ids;
  ids.reserve(args.ids.size());
  for (const std::string& arg : args.ids) {
    int32_t id = 0;
    if (!absl::SimpleAtoi(arg, &id)) {
      return Fail("'" + arg.substr(0, 32) + "' is not a token id");
    }
    ids.push_back(id);
  }
  auto file = gguf::GgufFile::Open(args.model);
  if (!file.ok()) return Fail(std::string(file.status().message()));
  auto tokenizer = tokenizer::Tokenizer::FromGguf(**file);
  if (!tokenizer.ok()) return Fail(std::string(tokenizer.status().message()));
  auto text = tokenizer->Decode(ids, {.unparse_special = args.special});
  if (!text.ok()) return Fail(std::string(text.status().message()));
  std::fwrite(text->data(), 1, text->size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : Fail("cannot write the output");
}

}  // namespace

void RegisterDetokenizeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "detokenize", "Print the text of token ids (works on vocab-only files)");
  auto args = std::make_shared<DetokenizeArgs>();
  cmd->add_option("-m,--model", args->model, "GGUF file")->required();
  cmd->add_flag("--special", args->special,
                "Render control tokens such as </s> as their text");
  cmd->add_option("ids", args->ids, "Token ids")->required();
  cmd->callback([args] { ExitCode() = RunDetokenize(*args); });
}

}  // namespace ggufd::cli
