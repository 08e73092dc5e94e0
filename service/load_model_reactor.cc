#include "service/load_model_reactor.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_replace.h"
#include "runtime/runtime.h"
#include "service/proto_convert.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

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
    : EventWriteReactor(state, context, "Runtime/LoadModel") {
  if (absl::Status admitted = Admit(request); !admitted.ok()) {
    FinishWith(admitted);
    return;
  }
  Stream(queue_);
}

absl::Status LoadModelReactor::Admit(const v1::LoadModelRequest& request) {
  ServiceState& state = this->state();
  if (absl::Status s = state.CheckAdmission(); !s.ok()) return s;
  auto worker = state.registry->Find(request.runtime());
  if (!worker.ok()) return worker.status();
  rpc().runtime = (*worker)->name();
  auto path = state.models->Resolve(request.path());
  if (!path.ok()) return path.status();
  rpc().extra["path"] = TruncateMessage(request.path(), 256);

  LoadOptions options;
  options.context_length =
      request.has_context_length() && request.context_length() > 0
          ? request.context_length()
          : state.context_length;
  options.threads = request.has_threads() && request.threads() > 0
                        ? request.threads()
                        : state.threads;
  options.memory_limit_bytes = request.memory_limit_bytes();
  options.sessions = state.sessions;
  if (request.session_memory_bytes() > 0) {
    options.sessions.memory_bytes = request.session_memory_bytes();
  }
  if (request.has_max_batch() && request.max_batch() > 0) {
    options.max_batch = request.max_batch();
  }
  Command command;
  command.operation = "load";
  command.deadline = DeadlineOf(context());
  command.run = [queue = queue_, path = *path, options, runtime = rpc().runtime,
                 requested = request.path(), root = state.models->root()](
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

}  // namespace ggufd
