// `ggufctl embed`: one embedding vector per text, printed one line per text
// (the values separated by spaces, as many digits as a float needs to read
// back exactly), or the whole response as JSON with --json.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clients/cpp/commands.h"
#include "ggufd/v1/inference.grpc.pb.h"
#include "google/protobuf/util/json_util.h"

namespace ggufctl {
namespace {

struct EmbedFlags {
  std::vector<std::string> texts;
  std::string pooling;  // "" = the model's own
  bool no_normalize = false;
  bool truncate = false;
  bool json = false;
  bool stats = false;
  std::string request_id;
};

ggufd::v1::Pooling PoolingOf(const std::string& name) {
  if (name == "mean") return ggufd::v1::POOLING_MEAN;
  if (name == "last") return ggufd::v1::POOLING_LAST;
  if (name == "cls") return ggufd::v1::POOLING_CLS;
  return ggufd::v1::POOLING_UNSPECIFIED;
}

// The texts, with a lone "-" standing for stdin's lines (one text each).
std::vector<std::string> Texts(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] != "-") return args;
  std::vector<std::string> lines;
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

int Embed(const Connection& connection, const EmbedFlags& flags) {
  auto stub = ggufd::v1::Inference::NewStub(connection.Channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::EmbedRequest request;
  request.set_runtime(connection.runtime);
  request.set_request_id(flags.request_id);
  for (std::string& text : Texts(flags.texts)) {
    request.add_texts(std::move(text));
  }
  request.set_pooling(PoolingOf(flags.pooling));
  request.set_normalize(!flags.no_normalize);
  request.set_truncate(flags.truncate);
  ggufd::v1::EmbedResponse response;
  const grpc::Status status = stub->Embed(&context, request, &response);
  if (!status.ok()) return Report(status);
  if (flags.json) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(response, &json, options)
             .ok()) {
      std::fprintf(stderr, "ggufctl: cannot print the response as JSON\n");
      return kExitError;
    }
    std::printf("%s\n", json.c_str());
  } else {
    for (const ggufd::v1::Embedding& embedding : response.embeddings()) {
      for (int i = 0; i < embedding.values_size(); ++i) {
        std::printf(i == 0 ? "%.9g" : " %.9g", embedding.values(i));
      }
      std::printf("\n");
    }
  }
  // The vectors before the stats line, which goes to unbuffered stderr.
  std::fflush(stdout);
  if (flags.stats) {
    int truncated = 0;
    for (const ggufd::v1::Embedding& embedding : response.embeddings()) {
      truncated += embedding.truncated() ? 1 : 0;
    }
    std::fprintf(stderr,
                 "[%s: %d vectors of %d dimensions, %s, %d tokens, %d "
                 "truncated]\n",
                 response.model().c_str(), response.embeddings_size(),
                 response.dimensions(),
                 ggufd::v1::Pooling_Name(response.pooling()).c_str(),
                 response.prompt_tokens(), truncated);
  }
  return kExitOk;
}

}  // namespace

void AddEmbedCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                     int& exit_code) {
  auto flags = std::make_shared<EmbedFlags>();
  auto* cmd = app.add_subcommand(
      "embed", "Print one embedding vector per text, one line each");
  cmd->add_option("texts", flags->texts,
                  "Texts to embed (\"-\" = one per line of stdin)")
      ->required();
  cmd->add_option("--pooling", flags->pooling,
                  "mean, last or cls (default: the model's own)")
      ->check(CLI::IsMember({"mean", "last", "cls"}));
  cmd->add_flag("--no-normalize", flags->no_normalize,
                "Keep the pooled vectors as they are (default: unit L2 norm)");
  cmd->add_flag("--truncate", flags->truncate,
                "Cut a text longer than the context to its first tokens "
                "(default: refuse it)");
  cmd->add_flag("--json", flags->json,
                "Print the whole response as JSON (values, tokens, "
                "truncated, model, pooling, dimensions)");
  cmd->add_option("--id", flags->request_id, "Request id (for Cancel)");
  cmd->add_flag("--stats", flags->stats,
                "Print the model, dimensions and token counts to stderr");
  cmd->callback([connection, flags, &exit_code] {
    exit_code = Embed(*connection, *flags);
  });
}

}  // namespace ggufctl
