// The Runtime's session operations: the control plane over the sessions its
// Generate keeps (runtime/session). Each runs on the owner thread like every
// other operation; none touches the run state.
#include <filesystem>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/runtime.h"
#include "runtime/runtime_state.h"

namespace ggufd {
namespace {

SessionInfo InfoOf(const session::Session& s) {
  return {.id = s.id,
          .tokens = static_cast<int32_t>(s.history.size()),
          .cached_tokens = static_cast<int32_t>(s.cached_tokens()),
          .kv_bytes = s.kv_bytes(),
          .created_unix_ms = s.created_unix_ms,
          .last_used_unix_ms = s.last_used_unix_ms,
          .turns = s.turns,
          .saved_path = s.saved_path};
}

absl::Status NoSession(std::string_view id) {
  return MakeError(ErrorCode::kSessionNotFound,
                   StrCat("no session \"", id, "\" on this runtime"));
}

}  // namespace

absl::Status Runtime::CheckLoaded() const {
  if (loaded_ == nullptr) {
    return MakeError(ErrorCode::kNoModel, "no model is loaded");
  }
  return absl::OkStatus();
}

absl::Status Runtime::DeleteSession(std::string_view id) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckLoaded());
  if (!loaded_->sessions.Erase(id)) return NoSession(id);
  return absl::OkStatus();
}

absl::StatusOr<SessionInfo> Runtime::ForkSession(
    std::string_view from, std::string to, std::optional<int32_t> keep_tokens) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckLoaded());
  session::SessionStore& store = loaded_->sessions;
  if (absl::Status s = session::ValidateSessionId(to, "new_session_id");
      !s.ok()) {
    return WithErrorCode(s, ErrorCode::kInvalidArgument);
  }
  session::Session* source = store.Find(from);
  if (source == nullptr) return NoSession(from);
  if (store.Find(to) != nullptr) {
    return MakeError(ErrorCode::kAlreadyExists,
                     StrCat("a session \"", to, "\" already exists"));
  }
  const int64_t length = static_cast<int64_t>(source->history.size());
  int64_t keep = length;
  if (keep_tokens.has_value()) {
    if (*keep_tokens <= 0 || *keep_tokens > length) {
      return MakeError(ErrorCode::kInvalidArgument,
                       StrCat("keep_tokens must be in [1, ", length,
                              "] (the history's length)"));
    }
    keep = *keep_tokens;
  }
  auto fork = std::make_unique<session::Session>();
  fork->id = std::move(to);
  fork->history.assign(source->history.begin(), source->history.begin() + keep);
  fork->created_unix_ms = session::UnixMillisNow();
  fork->lost = source->kv ? SessionCache::kEvicted : source->lost;
  const int64_t cached = std::min(source->cached_tokens(), keep);
  if (cached > 0) {
    store.MakeRoom(source, static_cast<uint64_t>(cached) *
                               loaded_->model->config.kv_bytes_per_position());
    fork->kv = std::make_unique<model::KvCache>(loaded_->model->config);
    fork->kv->CopyPrefix(*source->kv, cached);
  }
  store.Touch(*fork);
  session::Session& inserted = store.Insert(std::move(fork));
  store.MakeRoom(nullptr, 0);
  return InfoOf(inserted);
}

absl::StatusOr<SavedSession> Runtime::SaveSession(
    std::string_view id, const std::string& path,
    const std::string& shown_path) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckLoaded());
  session::Session* s = loaded_->sessions.Find(id);
  if (s == nullptr) return NoSession(id);
  auto bytes = session::WriteSessionFile(path, loaded_->identity, *s);
  if (!bytes.ok()) return WithErrorCode(bytes.status(), ErrorCode::kInternal);
  s->saved_path = shown_path;
  s->saved_file = path;
  return SavedSession{.file_bytes = *bytes, .session = InfoOf(*s)};
}

absl::StatusOr<SessionInfo> Runtime::RestoreSession(
    const std::string& path, const std::string& shown_path, std::string id,
    bool replace) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckLoaded());
  if (!id.empty()) {
    if (absl::Status s = session::ValidateSessionId(id, "session_id");
        !s.ok()) {
      return WithErrorCode(s, ErrorCode::kInvalidArgument);
    }
  }
  auto read =
      session::ReadSessionFile(path, loaded_->identity, loaded_->model->config);
  if (!read.ok()) {
    const ErrorCode code =
        absl::IsFailedPrecondition(read.status()) ? ErrorCode::kSessionMismatch
        : absl::IsNotFound(read.status())         ? ErrorCode::kSessionNotFound
                                                  : ErrorCode::kInvalidArgument;
    return WithErrorCode(
        absl::Status(read.status().code(),
                     StrCat(shown_path, ": ", read.status().message())),
        code);
  }
  std::unique_ptr<session::Session> restored = std::move(*read);
  if (!id.empty()) restored->id = std::move(id);
  if (absl::Status s = session::ValidateSessionId(restored->id, "session_id");
      !s.ok()) {
    return WithErrorCode(s, ErrorCode::kInvalidArgument);
  }
  session::SessionStore& store = loaded_->sessions;
  if (store.Find(restored->id) != nullptr && !replace) {
    return MakeError(ErrorCode::kAlreadyExists,
                     StrCat("a session \"", restored->id,
                            "\" already exists; set replace to overwrite it"));
  }
  restored->saved_path = shown_path;
  restored->saved_file = path;
  store.Touch(*restored);
  session::Session& inserted = store.Insert(std::move(restored));
  store.MakeRoom(nullptr, 0);
  return InfoOf(inserted);
}

void Runtime::ExpireSessions() {
  EntryGuard guard(*this);
  if (loaded_ != nullptr) {
    loaded_->sessions.Expire(session::SessionStore::Clock::now());
  }
}

std::vector<SessionInfo> ListSessionInfos(const session::SessionStore& store) {
  std::vector<SessionInfo> out;
  for (const session::Session* s : store.ByRecency()) {
    out.push_back(InfoOf(*s));
  }
  return out;
}

}  // namespace ggufd
