// `ggufd hash-token`: the line of the auth file (--auth-file) for a bearer
// token. The token is read from stdin, never from the command line, so it
// does not end up in shell history or the process list:
//
//   ggufd hash-token --role inference --name alice < alice.token
//   ggufd hash-token --generate --role admin --name ops   # a new token too
//
// The hash alone is `printf %s "$TOKEN" | sha256sum` (or openssl dgst
// -sha256): a trailing newline read from stdin is not part of the token.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "service/cli/commands.h"
#include "service/security/token_hash.h"

namespace ggufd::cli {
namespace {

struct HashTokenFlags {
  bool generate = false;
  std::string role;
  std::string name;
};

int HashToken(const HashTokenFlags& flags) {
  if (flags.role.empty() != flags.name.empty()) {
    std::fprintf(stderr, "ggufd: --role and --name go together\n");
    return 2;
  }
  std::string token;
  if (flags.generate) {
    auto fresh = security::NewToken();
    if (!fresh.ok()) {
      std::fprintf(stderr, "ggufd: %s\n",
                   std::string(fresh.status().message()).c_str());
      return 1;
    }
    token = *fresh;
    std::printf("%s\n", token.c_str());
  } else {
    std::getline(std::cin, token);
    if (!token.empty() && token.back() == '\r') token.pop_back();
    if (token.empty()) {
      std::fprintf(stderr, "ggufd: no token on stdin\n");
      return 2;
    }
  }
  const std::string hash = security::Sha256Hex(token);
  if (flags.role.empty()) {
    std::printf("%s\n", hash.c_str());
  } else {
    std::printf("%s %s %s\n", hash.c_str(), flags.role.c_str(),
                flags.name.c_str());
  }
  return 0;
}

}  // namespace

void RegisterHashTokenCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "hash-token",
      "Print the auth-file line (or SHA-256) of the bearer token on stdin");
  auto flags = std::make_shared<HashTokenFlags>();
  cmd->add_flag("--generate", flags->generate,
                "Make a new random token (printed first) instead of reading "
                "one");
  cmd->add_option("--role", flags->role, "inference or admin")
      ->check(CLI::IsMember({"inference", "admin"}));
  cmd->add_option("--name", flags->name,
                  "The principal's name (owner of its requests and "
                  "sessions)");
  cmd->callback([flags] { ExitCode() = HashToken(*flags); });
}

}  // namespace ggufd::cli
