// `ggufd tokenize -m FILE [--json] [--no-bos] [--parse-special] TEXT`: the
// token ids of TEXT (`-` reads the raw bytes of stdin) on one line, or with
// --json one object {"ids": [...], "pieces": [...]} where pieces are the
// tokens' texts as stored in the vocabulary. Works on vocab-only files.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/tokenizer.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool json = false;
  bool no_bos = false;
  bool parse_special = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "ggufd tokenize: %s\n", message.c_str());
  return 1;
}

int RunTokenize(const TokenizeArgs& args) {
  std::string text = args.text;
  if (text == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin),
                std::istreambuf_iterator<char>());
  }
  auto file = gguf::GgufFile::Open(args.model);
  if (!file.ok()) return Fail(std::string(file.status().message()));
  auto tokenizer = tokenizer::Tokenizer::FromGguf(**file);
  if (!tokenizer.ok()) return Fail(std::string(tokenizer.status().message()));
  // BOS only, as the model's metadata asks (llama.cpp's common_tokenize
  // with add_special=false after a BOS), so a WordPiece model gets [CLS]
  // but no [SEP] and no model gets an EOS.
  auto ids = tokenizer->Encode(
      text, {.add_special = false, .parse_special = args.parse_special});
  if (ids.ok() && !args.no_bos && tokenizer->add_bos() &&
      tokenizer->bos() != tokenizer::kNoToken) {
    ids->insert(ids->begin(), tokenizer->bos());
  }
  if (!ids.ok()) return Fail(std::string(ids.status().message()));

  std::string out;
  if (args.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (const tokenizer::TokenId id : *ids) {
      pieces.push_back(std::string(tokenizer->TokenText(id)));
    }
    nlohmann::json doc = {{"ids", *ids}, {"pieces", std::move(pieces)}};
    // Pieces may hold invalid UTF-8 (a byte-level token is any byte
    // string); replace it rather than fail, so the output is always JSON.
    out = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    for (size_t i = 0; i < ids->size(); ++i) {
      if (i > 0) out.push_back(' ');
      out.append(std::to_string((*ids)[i]));
    }
  }
  out.push_back('\n');
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : Fail("cannot write the output");
}

}  // namespace

void RegisterTokenizeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "tokenize", "Print the token ids of a text (works on vocab-only files)");
  auto args = std::make_shared<TokenizeArgs>();
  cmd->add_option("-m,--model", args->model, "GGUF file")->required();
  cmd->add_flag("--json", args->json,
                "Print {\"ids\": [...], \"pieces\": [...]}");
  cmd->add_flag("--no-bos", args->no_bos,
                "Do not add BOS even if the model asks for it");
  cmd->add_flag("--parse-special", args->parse_special,
                "Turn special-token text such as <|im_start|> into tokens");
  cmd->add_option("text", args->text, "The text, or - to read stdin")
      ->required();
  cmd->callback([args] { ExitCode() = RunTokenize(*args); });
}

}  // namespace ggufd::cli
