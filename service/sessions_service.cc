#include "service/sessions_service.h"

#include <string>

#include "runtime/common/str_cat.h"
#include "runtime/session/session.h"
#include "service/proto_convert.h"
#include "service/runtime_call.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

std::string RuntimeName(const std::string& name) {
  return name.empty() ? std::string(RuntimeRegistry::kDefaultName) : name;
}

absl::Status CheckId(std::string_view id, absl::string_view field) {
  if (absl::Status s = session::ValidateSessionId(
          id, std::string_view(field.data(), field.size()));
      !s.ok()) {
    return InvalidField(field, s.message());
  }
  return absl::OkStatus();
}

absl::Status NoStateDir() {
  return MakeError(ErrorCode::kNotConfigured,
                   "the server has no state directory (--state-dir): "
                   "sessions cannot be saved or restored");
}

}  // namespace

grpc::ServerUnaryReactor* SessionsService::ListSessions(
    grpc::CallbackServerContext* context,
    const v1::ListSessionsRequest* request,
    v1::ListSessionsResponse* response) {
  RpcCall call{.method = "Sessions/ListSessions"};
  auto worker = state_.registry->Find(request->runtime());
  if (!worker.ok()) return FinishNow(state_, context, call, worker.status());
  const WorkerSnapshot snapshot = (*worker)->Snapshot();
  call.runtime = snapshot.name;
  const Diagnostics& d = snapshot.diagnostics;
  for (const SessionInfo& info : d.sessions) {
    ToProto(info, snapshot.name, *response->add_sessions());
  }
  response->set_kv_bytes(d.session_stats.kv_bytes);
  response->set_kv_budget_bytes(d.session_stats.budget_bytes);
  return FinishNow(state_, context, call, absl::OkStatus());
}

grpc::ServerUnaryReactor* SessionsService::DeleteSession(
    grpc::CallbackServerContext* context,
    const v1::DeleteSessionRequest* request,
    v1::DeleteSessionResponse* response) {
  constexpr char kMethod[] = "Sessions/DeleteSession";
  if (absl::Status s = CheckId(request->session_id(), "session_id"); !s.ok()) {
    return FinishNow(state_, context, kMethod, s);
  }
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "delete_session",
      [id = request->session_id(), response](
          Runtime& runtime, const CommandContext&) -> absl::Status {
        absl::Status deleted = runtime.DeleteSession(id);
        if (GetErrorCode(deleted) == ErrorCode::kSessionNotFound) {
          response->set_found(false);
          return absl::OkStatus();
        }
        response->set_found(deleted.ok());
        return deleted;
      });
}

grpc::ServerUnaryReactor* SessionsService::ForkSession(
    grpc::CallbackServerContext* context, const v1::ForkSessionRequest* request,
    v1::SessionInfo* response) {
  constexpr char kMethod[] = "Sessions/ForkSession";
  absl::Status valid = CheckId(request->session_id(), "session_id");
  if (valid.ok()) valid = CheckId(request->new_session_id(), "new_session_id");
  if (!valid.ok()) return FinishNow(state_, context, kMethod, valid);
  std::optional<int32_t> keep;
  if (request->has_keep_tokens()) keep = request->keep_tokens();
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "fork_session",
      [from = request->session_id(), to = request->new_session_id(), keep,
       runtime_name = RuntimeName(request->runtime()),
       response](Runtime& runtime, const CommandContext&) -> absl::Status {
        auto info = runtime.ForkSession(from, to, keep);
        if (!info.ok()) {
          if (GetErrorCode(info.status()) == ErrorCode::kInvalidArgument) {
            return WithFieldViolation(info.status(), "keep_tokens",
                                      info.status().message());
          }
          return info.status();
        }
        ToProto(*info, runtime_name, *response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SessionsService::SaveSession(
    grpc::CallbackServerContext* context, const v1::SaveSessionRequest* request,
    v1::SaveSessionResponse* response) {
  constexpr char kMethod[] = "Sessions/SaveSession";
  if (absl::Status s = CheckId(request->session_id(), "session_id"); !s.ok()) {
    return FinishNow(state_, context, kMethod, s);
  }
  if (state_.state_dir == nullptr) {
    return FinishNow(state_, context, kMethod, NoStateDir());
  }
  const std::string asked = request->path().empty()
                                ? StrCat(request->session_id(), ".session")
                                : request->path();
  auto path = state_.state_dir->ResolveForWrite(asked);
  if (!path.ok()) return FinishNow(state_, context, kMethod, path.status());
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "save_session",
      [id = request->session_id(), path = *path,
       shown = state_.state_dir->Relative(*path),
       runtime_name = RuntimeName(request->runtime()),
       response](Runtime& runtime, const CommandContext&) -> absl::Status {
        auto saved = runtime.SaveSession(id, path, shown);
        if (!saved.ok()) return saved.status();
        response->set_path(shown);
        response->set_file_bytes(saved->file_bytes);
        ToProto(saved->session, runtime_name, *response->mutable_session());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SessionsService::RestoreSession(
    grpc::CallbackServerContext* context,
    const v1::RestoreSessionRequest* request, v1::SessionInfo* response) {
  constexpr char kMethod[] = "Sessions/RestoreSession";
  if (!request->session_id().empty()) {
    if (absl::Status s = CheckId(request->session_id(), "session_id");
        !s.ok()) {
      return FinishNow(state_, context, kMethod, s);
    }
  }
  if (state_.state_dir == nullptr) {
    return FinishNow(state_, context, kMethod, NoStateDir());
  }
  auto path = state_.state_dir->Resolve(request->path());
  if (!path.ok()) return FinishNow(state_, context, kMethod, path.status());
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "restore_session",
      [path = *path, shown = state_.state_dir->Relative(*path),
       id = request->session_id(), replace = request->replace(),
       runtime_name = RuntimeName(request->runtime()),
       response](Runtime& runtime, const CommandContext&) -> absl::Status {
        auto info = runtime.RestoreSession(path, shown, id, replace);
        if (!info.ok()) return info.status();
        ToProto(*info, runtime_name, *response);
        return absl::OkStatus();
      });
}

}  // namespace ggufd
