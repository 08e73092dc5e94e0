#include "service/http/token_speller.h"

#include <chrono>
#include <condition_variable>
#include <utility>
#include <vector>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "runtime/runtime.h"
#include "service/http/stream_waiter.h"

namespace ggufd::http {

struct TokenSpellers::Vocabulary {
  // Which model: its file and the runtime's load count when it was seen.
  std::string path;
  uint64_t loads = 0;
  std::vector<std::string> pieces;  // written once, before `state` is set

  enum class State { kReading, kReady, kFailed };
  std::mutex mu;
  std::condition_variable cv;
  State state = State::kReading;

  void Set(State s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      state = s;
    }
    cv.notify_all();
  }
};

absl::StatusOr<TokenSpeller> TokenSpellers::For(ServiceState& state,
                                                const std::string& runtime,
                                                int socket) {
  auto worker = state.registry->Find(runtime);
  if (!worker.ok()) return worker.status();
  const WorkerSnapshot snapshot = (*worker)->Snapshot();
  const Diagnostics& d = snapshot.diagnostics;
  if (!d.model_loaded) {
    return MakeError(ErrorCode::kNoModel,
                     StrCat("runtime ", snapshot.name, " has no model loaded"));
  }
  std::shared_ptr<Vocabulary> vocabulary;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Vocabulary>& entry = by_runtime_[(*worker)->name()];
    bool stale = entry == nullptr || entry->path != d.model.path ||
                 entry->loads != d.counters.loads;
    if (!stale) {
      std::lock_guard<std::mutex> entry_lock(entry->mu);
      stale = entry->state == Vocabulary::State::kFailed;
    }
    if (stale) {
      auto fresh = std::make_shared<Vocabulary>();
      fresh->path = d.model.path;
      fresh->loads = d.counters.loads;
      Command command;
      command.operation = "spell_tokens";
      command.run = [fresh](Runtime& rt, const CommandContext&) {
        const Diagnostics now = rt.GetDiagnostics();
        // Another model arrived meanwhile: the next call reads that one.
        if (now.model.path != fresh->path ||
            now.counters.loads != fresh->loads) {
          fresh->Set(Vocabulary::State::kFailed);
          return;
        }
        fresh->pieces.resize(static_cast<size_t>(now.model.vocab_size));
        for (int32_t id = 0; id < now.model.vocab_size; ++id) {
          auto piece = rt.Detokenize({id});
          if (piece.ok()) fresh->pieces[id] = std::move(*piece);
        }
        fresh->Set(Vocabulary::State::kReady);
      };
      command.drop = [fresh](const absl::Status&) {
        fresh->Set(Vocabulary::State::kFailed);
      };
      if (absl::Status posted = (*worker)->Post(command); !posted.ok()) {
        return posted;
      }
      entry = std::move(fresh);
    }
    vocabulary = entry;
  }
  {
    std::unique_lock<std::mutex> lock(vocabulary->mu);
    while (vocabulary->state == Vocabulary::State::kReading) {
      vocabulary->cv.wait_for(lock, std::chrono::milliseconds(50));
      if (PeerClosed(socket)) {
        return MakeError(ErrorCode::kCancelled, "the client disconnected");
      }
    }
    if (vocabulary->state == Vocabulary::State::kFailed) {
      return MakeError(ErrorCode::kUnavailable,
                       "the model's tokens could not be read; retry");
    }
  }
  return TokenSpeller([vocabulary](int32_t id) -> std::optional<std::string> {
    if (id < 0 || static_cast<size_t>(id) >= vocabulary->pieces.size()) {
      return std::nullopt;
    }
    return vocabulary->pieces[static_cast<size_t>(id)];
  });
}

}  // namespace ggufd::http
