// The subcommands of the `ggufd` binary. Each Register* function adds one
// subcommand to the app; its callback sets the process exit code.
#ifndef GGUFD_SERVICE_CLI_COMMANDS_H_
#define GGUFD_SERVICE_CLI_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace ggufd::cli {

// Exit status of the subcommand that ran (0 = success).
int& ExitCode();

void RegisterInspectCommand(CLI::App& app);
void RegisterRunCommand(CLI::App& app);
void RegisterTokenizeCommand(CLI::App& app);
void RegisterDetokenizeCommand(CLI::App& app);
void RegisterEmbedCommand(CLI::App& app);
void RegisterServeCommand(CLI::App& app);
void RegisterQuantizeCommand(CLI::App& app);
void RegisterBenchCommand(CLI::App& app);
void RegisterHashTokenCommand(CLI::App& app);

}  // namespace ggufd::cli

#endif  // GGUFD_SERVICE_CLI_COMMANDS_H_
