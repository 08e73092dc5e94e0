// `ggufctl session list|delete|fork|save|restore`: the Sessions service.
// A session itself grows with `ggufctl generate --session ID` (or chat).
#include <chrono>
#include <cstdio>
#include <optional>

#include "clients/cpp/commands.h"
#include "ggufd/v1/sessions.grpc.pb.h"

namespace ggufctl {
namespace {

using ggufd::v1::SessionInfo;
using ggufd::v1::Sessions;

std::unique_ptr<Sessions::Stub> Stub(const Connection& connection) {
  return Sessions::NewStub(connection.Channel());
}

// One line per session: what fork and restore answer.
void PrintInfo(const SessionInfo& info) {
  std::printf("%s: %d tokens (%d cached, %llu KV cache bytes), %d turns%s%s\n",
              info.id().c_str(), info.tokens(), info.cached_tokens(),
              static_cast<unsigned long long>(info.kv_bytes()), info.turns(),
              info.saved() ? ", saved as " : "",
              info.saved() ? info.saved_path().c_str() : "");
}

int List(const Connection& connection) {
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::ListSessionsRequest request;
  request.set_runtime(connection.runtime);
  ggufd::v1::ListSessionsResponse response;
  const grpc::Status status =
      Stub(connection)->ListSessions(&context, request, &response);
  if (!status.ok()) return Report(status);
  const long long now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::printf("%-24s %7s %7s %12s %6s %7s  %s\n", "ID", "TOKENS", "CACHED",
              "KV_BYTES", "TURNS", "IDLE_S", "SAVED");
  for (const SessionInfo& s : response.sessions()) {
    const long long idle_ms = now_ms - s.last_used_unix_ms();
    std::printf("%-24s %7d %7d %12llu %6d %7lld  %s\n", s.id().c_str(),
                s.tokens(), s.cached_tokens(),
                static_cast<unsigned long long>(s.kv_bytes()), s.turns(),
                idle_ms > 0 ? idle_ms / 1000 : 0,
                s.saved() ? s.saved_path().c_str() : "-");
  }
  std::printf("%d session%s, %llu of %llu KV cache bytes\n",
              response.sessions_size(),
              response.sessions_size() == 1 ? "" : "s",
              static_cast<unsigned long long>(response.kv_bytes()),
              static_cast<unsigned long long>(response.kv_budget_bytes()));
  return kExitOk;
}

int Delete(const Connection& connection, const std::string& id) {
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::DeleteSessionRequest request;
  request.set_runtime(connection.runtime);
  request.set_session_id(id);
  ggufd::v1::DeleteSessionResponse response;
  const grpc::Status status =
      Stub(connection)->DeleteSession(&context, request, &response);
  if (!status.ok()) return Report(status);
  if (!response.found()) {
    std::fprintf(stderr, "ggufctl: no session %s\n", id.c_str());
    return kExitError;
  }
  std::printf("deleted %s\n", id.c_str());
  return kExitOk;
}

int Fork(const Connection& connection, const std::string& id,
         const std::string& new_id, std::optional<int> keep_tokens) {
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::ForkSessionRequest request;
  request.set_runtime(connection.runtime);
  request.set_session_id(id);
  request.set_new_session_id(new_id);
  if (keep_tokens) request.set_keep_tokens(*keep_tokens);
  SessionInfo info;
  const grpc::Status status =
      Stub(connection)->ForkSession(&context, request, &info);
  if (!status.ok()) return Report(status);
  PrintInfo(info);
  return kExitOk;
}

int Save(const Connection& connection, const std::string& id,
         const std::string& path) {
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::SaveSessionRequest request;
  request.set_runtime(connection.runtime);
  request.set_session_id(id);
  request.set_path(path);
  ggufd::v1::SaveSessionResponse response;
  const grpc::Status status =
      Stub(connection)->SaveSession(&context, request, &response);
  if (!status.ok()) return Report(status);
  std::printf("saved %s to %s (%llu bytes, %d tokens)\n", id.c_str(),
              response.path().c_str(),
              static_cast<unsigned long long>(response.file_bytes()),
              response.session().tokens());
  return kExitOk;
}

int Restore(const Connection& connection, const std::string& path,
            const std::string& id, bool replace) {
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::RestoreSessionRequest request;
  request.set_runtime(connection.runtime);
  request.set_path(path);
  request.set_session_id(id);
  request.set_replace(replace);
  SessionInfo info;
  const grpc::Status status =
      Stub(connection)->RestoreSession(&context, request, &info);
  if (!status.ok()) return Report(status);
  PrintInfo(info);
  return kExitOk;
}

struct SessionFlags {
  std::string id;
  std::string new_id;  // fork
  std::string path;    // save, restore
  std::optional<int> keep_tokens;
  bool replace = false;
};

}  // namespace

void AddSessionCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                       int& exit_code) {
  auto flags = std::make_shared<SessionFlags>();
  auto* cmd = app.add_subcommand(
      "session",
      "List, delete, fork, save or restore the runtime's sessions (continue "
      "one with generate/chat --session ID)");
  cmd->alias("sessions");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand(
      "list", "List the sessions, most recently used first");
  list->callback([connection, &exit_code] { exit_code = List(*connection); });

  auto* remove = cmd->add_subcommand(
      "delete", "Drop a session (history and KV cache; saved files stay)");
  remove->add_option("id", flags->id, "Session id")->required();
  remove->callback([connection, flags, &exit_code] {
    exit_code = Delete(*connection, flags->id);
  });

  auto* fork = cmd->add_subcommand(
      "fork", "Start a new session from a copy of another (rewind, branch)");
  fork->add_option("id", flags->id, "Session to copy")->required();
  fork->add_option("new_id", flags->new_id, "The new session's id")->required();
  fork->add_option("--keep-tokens", flags->keep_tokens,
                   "Keep only the history's first N tokens")
      ->check(CLI::PositiveNumber);
  fork->callback([connection, flags, &exit_code] {
    exit_code = Fork(*connection, flags->id, flags->new_id, flags->keep_tokens);
  });

  auto* save = cmd->add_subcommand(
      "save", "Write a session to a file in the server's --state-dir");
  save->add_option("id", flags->id, "Session id")->required();
  save->add_option("path", flags->path,
                   "File, relative to the state directory (default: "
                   "ID.session)");
  save->callback([connection, flags, &exit_code] {
    exit_code = Save(*connection, flags->id, flags->path);
  });

  auto* restore = cmd->add_subcommand(
      "restore", "Load a session saved in the server's --state-dir");
  restore->add_option("path", flags->path, "File written by save")->required();
  restore->add_option("--as", flags->id,
                      "Session id to restore as (default: the saved one)");
  restore->add_flag("--replace", flags->replace,
                    "Replace an existing session with that id");
  restore->callback([connection, flags, &exit_code] {
    exit_code = Restore(*connection, flags->path, flags->id, flags->replace);
  });
}

}  // namespace ggufctl
