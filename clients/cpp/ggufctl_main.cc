// ggufctl: a command-line client for ggufd.
//   ggufctl [--server ADDR] [--runtime NAME] load PATH
//   ggufctl generate "Once upon a time" --max-tokens 64
//   ggufctl chat --system "Be brief." "Who are you?"
//   ggufctl generate --regex '[0-9]{3}-[0-9]{4}' "Call me at "
//     (or --json-schema JSON, --json-schema-file F, --grammar-file F.gbnf)
//   ggufctl embed "a text" "another text"   (one vector per line; --json)
//   ggufctl tokenize "Hello"        ggufctl status
//   ggufctl chat --session conv-1 "Hi!"    (then only the next message)
//   ggufctl session list|delete ID|fork ID NEW|save ID [PATH]|restore PATH
//   ggufctl --tls-ca ca.pem [--tls-cert c.pem --tls-key c.key] ...  (TLS/mTLS)
//   GGUFD_TOKEN=... ggufctl ...   (sends authorization: Bearer <token>)
// Exit status: 0 ok, 1 the server refused or failed, 2 usage, 3 server
// unavailable or busy (retry), 130 interrupted.
#include <signal.h>

#include <fstream>
#include <memory>
#include <string>

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
  app.add_flag("--tls", connection->tls,
               "Use TLS, verifying the server with the system's roots")
      ->envname("GGUFD_TLS");
  app.add_option("--tls-ca", connection->tls_ca_file,
                 "PEM CA bundle that verifies the server (implies --tls)")
      ->envname("GGUFD_TLS_CA")
      ->check(CLI::ExistingFile);
  auto* cert = app.add_option("--tls-cert", connection->tls_cert_file,
                              "PEM client certificate for mTLS (implies "
                              "--tls)")
                   ->envname("GGUFD_TLS_CERT")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", connection->tls_key_file,
                             "PEM private key of --tls-cert")
                  ->envname("GGUFD_TLS_KEY")
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--tls-server-name", connection->tls_server_name,
                 "Verify the server's certificate for this name instead of "
                 "the host of --server");
  // A token on the command line shows in `ps` and shell history: prefer
  // GGUFD_TOKEN or --token-file.
  auto* token = app.add_option("--token", connection->token,
                               "Bearer token (or GGUFD_TOKEN)")
                    ->envname("GGUFD_TOKEN");
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "File holding the bearer token (first line)")
      ->envname("GGUFD_TOKEN_FILE")
      ->check(CLI::ExistingFile)
      ->excludes(token)
      ->each([&connection](const std::string& path) {
        std::ifstream in(path);
        std::getline(in, connection->token);
        if (!connection->token.empty() && connection->token.back() == '\r') {
          connection->token.pop_back();
        }
      });
  int exit_code = ggufctl::kExitOk;
  ggufctl::AddLoadCommand(app, connection, exit_code);
  ggufctl::AddGenerateCommand(app, connection, exit_code);
  ggufctl::AddChatCommand(app, connection, exit_code);
  ggufctl::AddEmbedCommand(app, connection, exit_code);
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
