// ggufctl: a command-line client for ggufd.
//   ggufctl [--server ADDR] [--runtime NAME] load PATH
//   ggufctl generate "Once upon a time" --max-tokens 64
//   ggufctl chat --system "Be brief." "Who are you?"
//   ggufctl tokenize "Hello"        ggufctl status
//   ggufctl chat --session conv-1 "Hi!"    (then only the next message)
//   ggufctl session list|delete ID|fork ID NEW|save ID [PATH]|restore PATH
// Exit status: 0 ok, 1 the server refused or failed, 2 usage, 3 server
// unavailable or busy (retry), 130 interrupted.
#include <signal.h>

#include <memory>

#include "CLI/CLI.hpp"
#include "clients/cpp/client_status.h"
#include "clients/cpp/commands.h"

int main(int argc, char** argv) {
  // Ctrl-C during a stream is handled by the command (it cancels the call),
  // so every thread starts with SIGINT blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"ggufctl: talk to a ggufd server"};
  app.require_subcommand(1);
  auto connection = std::make_shared<ggufctl::Connection>();
  app.add_option("-s,--server", connection->address, "ggufd address")
      ->envname("GGUFD_ADDRESS")
      ->capture_default_str();
  app.add_option("-r,--runtime", connection->runtime,
                 "Runtime instance (default: \"default\")")
      ->envname("GGUFD_RUNTIME");
  app.add_option("--timeout", connection->timeout_s,
                 "Deadline per call in seconds (0 = none)")
      ->check(CLI::NonNegativeNumber);
  int exit_code = ggufctl::kExitOk;
  ggufctl::AddLoadCommand(app, connection, exit_code);
  ggufctl::AddGenerateCommand(app, connection, exit_code);
  ggufctl::AddChatCommand(app, connection, exit_code);
  ggufctl::AddTokenizeCommand(app, connection, exit_code);
  ggufctl::AddStatusCommand(app, connection, exit_code);
  ggufctl::AddSessionCommand(app, connection, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : ggufctl::kExitUsage;
  }
  return exit_code;
}
