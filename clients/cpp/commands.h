// The subcommands of ggufctl. Each Add* function registers one; its
// callback stores the exit status in `exit_code`.
#ifndef GGUFD_CLIENTS_CPP_COMMANDS_H_
#define GGUFD_CLIENTS_CPP_COMMANDS_H_

#include <memory>

#include "CLI/CLI.hpp"
#include "clients/cpp/client_status.h"

namespace ggufctl {

void AddGenerateCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                        int& exit_code);
void AddChatCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                    int& exit_code);
void AddLoadCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                    int& exit_code);
void AddEmbedCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                     int& exit_code);
void AddTokenizeCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                        int& exit_code);
void AddStatusCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                      int& exit_code);
// `session list|delete|fork|save|restore`.
void AddSessionCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                       int& exit_code);

}  // namespace ggufctl

#endif  // GGUFD_CLIENTS_CPP_COMMANDS_H_
