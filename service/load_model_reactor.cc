#include "service/load_model_reactor.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_replace.h"
#include "runtime/runtime.h"
#include "service/proto_convert.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

constexpr char kMethod[] = "Runtime/LoadModel";

// `status` with the server's paths named as the client knows them: the file
// as requested, anything else under the model directory relative to it.
absl::Status ClientPaths(const absl::Status& status, const std::string& file,
                         const std::string& requested,
                         const std::string& root) {
  if (status.ok()) return status;
  const std::string message = absl::StrReplaceAll(
      status.message(), {{file, requested}, {root + "/", ""}, {root, "."}});
  absl::Status out(status.code(), message);
  status.ForEachPayload([&out](absl::string_view url, const absl::Cord& v) {
    out.SetPayload(url, v);
  });
  return out;
}

}  // namespace

LoadModelReactor::LoadModelReactor(ServiceState& state,
                                   grpc::CallbackServerContext* context,
                                   const v1::LoadModelRequest& request)
    : state_(state), context_(context) {
  if (absl::Status admitted = Admit(request); !admitted.ok()) {
    FinishWith(admitted);
    return;
  }
  Pump();
}

absl::Status LoadModelReactor::Admit(const v1::LoadModelRequest& request) {
  if (absl::Status s = state_.CheckAdmission(); !s.ok()) return s;
  auto worker = state_.registry->Find(request.runtime());
  if (!worker.ok()) return worker.status();
  runtime_ = (*worker)->name();
  auto path = state_.models->Resolve(request.path());
  if (!path.ok()) return path.status();
  path_ = request.path();

  LoadOptions options;
  options.context_length =
      request.has_context_length() && request.context_length() > 0
          ? request.context_length()
          : state_.context_length;
  options.threads = request.has_threads() && request.threads() > 0
                        ? request.threads()
                        : state_.threads;
  options.memory_limit_bytes = request.memory_limit_bytes();
  options.sessions = state_.sessions;
  if (request.session_memory_bytes() > 0) {
    options.sessions.memory_bytes = request.session_memory_bytes();
  }
  if (request.has_max_batch() && request.max_batch() > 0) {
    options.max_batch = request.max_batch();
  }
  Command command;
  command.operation = "load";
  command.deadline = DeadlineOf(*context_);
  command.run = [queue = queue_, path = *path, options, runtime = runtime_,
                 requested = request.path(), root = state_.models->root()](
                    Runtime& rt, const CommandContext&) mutable {
    options.on_progress = [&queue](double fraction) {
      v1::LoadModelEvent event;
      event.mutable_progress()->set_fraction(fraction);
      queue->Push(std::move(event));
    };
    absl::Status loaded = rt.Load(path, options);
    if (loaded.ok()) {
      auto info = rt.GetModelInfo();
      if (info.ok()) {
        v1::LoadModelEvent event;
        ToProto(*info, runtime, *event.mutable_model());
        queue->Push(std::move(event));
      }
      loaded = info.status();
    }
    queue->Complete(ClientPaths(loaded, path, requested, root));
  };
  command.drop = [queue = queue_](const absl::Status& why) {
    queue->Complete(why);
  };
  return (*worker)->Post(command);
}

void LoadModelReactor::Pump() {
  Queue::Next next = queue_->TakeOrWait([this] {
    wake_.Schedule(absl::InfinitePast(), [this](bool) { Pump(); });
  });
  if (next.message.has_value()) {
    event_ = std::move(*next.message);
    StartWrite(&event_);
  } else if (next.finish.has_value()) {
    FinishWith(*next.finish);
  }
}

void LoadModelReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The load goes on (a half-done load is no use to anyone); only the
    // progress has no reader any more.
    queue_->Detach();
    FinishWith(MakeError(ErrorCode::kCancelled, "the stream was cancelled"));
    return;
  }
  Pump();
}

void LoadModelReactor::FinishWith(const absl::Status& status) {
  const grpc::Status grpc_status = ToGrpcStatus(status);
  const std::string code = GrpcCodeName(grpc_status.error_code());
  state_.metrics->CountRequest(kMethod, code);
  nlohmann::json fields = {{"method", kMethod},
                           {"runtime", runtime_},
                           {"path", TruncateMessage(path_, 256)},
                           {"code", code}};
  if (!status.ok()) fields["error"] = grpc_status.error_message();
  state_.log->Info("rpc", std::move(fields));
  Finish(grpc_status);
}

}  // namespace ggufd
