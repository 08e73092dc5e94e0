// ggufd: the GGUF serving daemon and its local tools.
#include "CLI/CLI.hpp"
#include "service/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"ggufd: serve GGUF language models over gRPC"};
  app.require_subcommand(1);
  ggufd::cli::RegisterInspectCommand(app);
  ggufd::cli::RegisterRunCommand(app);
  ggufd::cli::RegisterTokenizeCommand(app);
  ggufd::cli::RegisterDetokenizeCommand(app);
  ggufd::cli::RegisterEmbedCommand(app);
  ggufd::cli::RegisterServeCommand(app);
  ggufd::cli::RegisterQuantizeCommand(app);
  ggufd::cli::RegisterBenchCommand(app);
  ggufd::cli::RegisterHashTokenCommand(app);
  CLI11_PARSE(app, argc, argv);
  return ggufd::cli::ExitCode();
}
