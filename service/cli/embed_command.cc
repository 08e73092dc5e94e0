// `ggufd embed -m FILE [options] TEXT...`: one embedding vector per text,
// computed locally, printed as one JSON object:
//   {"model", "pooling", "dimensions", "prompt_tokens", "seconds",
//    "embeddings": [{"values": [...], "tokens": N, "truncated": B}, ...]}
// A single `-` reads a JSON array of strings from stdin instead.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "runtime/runtime.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

struct EmbedArgs {
  std::string model;
  std::vector<std::string> texts;
  std::string pooling = "model";
  bool no_normalize = false;
  bool truncate = false;
  bool no_special = false;
  int32_t threads = 0;
  int32_t ctx = 0;
  int32_t batch = 512;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "ggufd embed: %s\n", message.c_str());
  return 1;
}

const char* PoolingName(Pooling pooling) {
  switch (pooling) {
    case Pooling::kMean:
      return "mean";
    case Pooling::kLast:
      return "last";
    case Pooling::kCls:
      return "cls";
    case Pooling::kModel:
      break;
  }
  return "model";
}

CancelToken* g_cancel = nullptr;

void OnInterrupt(int) {
  if (g_cancel != nullptr) g_cancel->Cancel();
}

int RunEmbed(const EmbedArgs& args) {
  EmbedRequest request;
  request.texts = args.texts;
  if (request.texts.size() == 1 && request.texts[0] == "-") {
    const std::string in((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
    const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (!doc.is_array()) return Fail("stdin must be a JSON array of strings");
    request.texts.clear();
    for (const nlohmann::json& text : doc) {
      if (!text.is_string()) {
        return Fail("stdin must be a JSON array of strings");
      }
      request.texts.push_back(text.get<std::string>());
    }
  }
  for (Pooling p :
       {Pooling::kModel, Pooling::kMean, Pooling::kLast, Pooling::kCls}) {
    if (args.pooling == PoolingName(p)) request.pooling = p;
  }
  request.normalize = !args.no_normalize;
  request.truncate = args.truncate;
  if (args.no_special) request.add_special = false;

  Runtime runtime;
  if (absl::Status s = runtime.Load(args.model, {.context_length = args.ctx,
                                                 .threads = args.threads,
                                                 .max_batch = args.batch});
      !s.ok()) {
    return Fail(std::string(s.message()));
  }
  CancelToken cancel;
  g_cancel = &cancel;
  std::signal(SIGINT, OnInterrupt);
  const auto start = std::chrono::steady_clock::now();
  auto result = runtime.Embed(request, cancel);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::signal(SIGINT, SIG_DFL);
  g_cancel = nullptr;
  if (!result.ok()) return Fail(std::string(result.status().message()));

  nlohmann::json embeddings = nlohmann::json::array();
  for (const Embedding& e : result->embeddings) {
    embeddings.push_back({{"values", e.values},
                          {"tokens", e.tokens},
                          {"truncated", e.truncated}});
  }
  const nlohmann::json out = {{"model", result->model},
                              {"pooling", PoolingName(result->pooling)},
                              {"dimensions", result->dimensions},
                              {"prompt_tokens", result->prompt_tokens},
                              {"seconds", seconds},
                              {"embeddings", std::move(embeddings)}};
  std::cout << out.dump(-1, ' ', false,
                        nlohmann::json::error_handler_t::replace)
            << "\n";
  std::cout.flush();
  return std::cout.good() ? 0 : Fail("cannot write the output");
}

}  // namespace

void RegisterEmbedCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "embed", "Print one embedding vector per text (JSON), computed locally");
  auto args = std::make_shared<EmbedArgs>();
  cmd->add_option("-m,--model", args->model, "GGUF model file")->required();
  cmd->add_option("--pooling", args->pooling,
                  "model (what the model declares, else last), mean, last "
                  "or cls")
      ->check(CLI::IsMember({"model", "mean", "last", "cls"}));
  cmd->add_flag("--no-normalize", args->no_normalize,
                "Keep the raw vectors instead of scaling them to unit length");
  cmd->add_flag("--truncate", args->truncate,
                "Keep the first tokens of a text that does not fit (else it "
                "is an error)");
  cmd->add_flag("--no-special", args->no_special,
                "Do not add BOS/EOS even if the model asks for them");
  cmd->add_option("--threads", args->threads, "Compute threads (0: all cores)");
  cmd->add_option("--ctx", args->ctx,
                  "Context length: the most tokens per text (0: the model's, "
                  "capped)");
  cmd->add_option("--batch", args->batch,
                  "Most tokens evaluated together (texts are packed up to it)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("text", args->texts,
                  "The texts, or a single - to read a JSON array of strings "
                  "from stdin")
      ->required();
  cmd->callback([args] { ExitCode() = RunEmbed(*args); });
}

}  // namespace ggufd::cli
