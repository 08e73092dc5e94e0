// `ggufctl load`, `tokenize` and `status`.
#include <cstdio>

#include "clients/cpp/commands.h"
#include "ggufd/v1/diagnostics.grpc.pb.h"
#include "ggufd/v1/inference.grpc.pb.h"
#include "ggufd/v1/runtime.grpc.pb.h"

namespace ggufctl {
namespace {

int Load(const Connection& connection, const std::string& path,
         int context_length) {
  auto stub = ggufd::v1::Runtime::NewStub(connection.Channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::LoadModelRequest request;
  request.set_runtime(connection.runtime);
  request.set_path(path);
  if (context_length > 0) request.set_context_length(context_length);
  auto reader = stub->LoadModel(&context, request);
  ggufd::v1::LoadModelEvent event;
  ggufd::v1::ModelInfo info;
  while (reader->Read(&event)) {
    if (event.has_progress()) {
      std::fprintf(stderr, "\rloading %3.0f%%",
                   event.progress().fraction() * 100);
    } else if (event.has_model()) {
      info = event.model();
    }
  }
  std::fprintf(stderr, "\n");
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return Report(status);
  std::printf("%s (%s, %s, %llu parameters, context %d, chat template %s)\n",
              info.name().c_str(), info.architecture().c_str(),
              info.file_type().c_str(),
              static_cast<unsigned long long>(info.parameters()),
              info.context_length(),
              info.chat_template_family().empty()
                  ? "none"
                  : info.chat_template_family().c_str());
  return kExitOk;
}

int Tokenize(const Connection& connection, const std::string& text,
             bool special) {
  auto stub = ggufd::v1::Inference::NewStub(connection.Channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::TokenizeRequest request;
  request.set_runtime(connection.runtime);
  request.set_text(text);
  request.set_parse_special(special);
  ggufd::v1::TokenizeResponse response;
  const grpc::Status status = stub->Tokenize(&context, request, &response);
  if (!status.ok()) return Report(status);
  for (int i = 0; i < response.ids_size(); ++i) {
    std::printf(i == 0 ? "%d" : " %d", response.ids(i));
  }
  std::printf("\n");
  return kExitOk;
}

int PrintStatus(const Connection& connection) {
  auto stub = ggufd::v1::Diagnostics::NewStub(connection.Channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  ggufd::v1::GetStatusRequest request;
  request.set_runtime(connection.runtime);
  ggufd::v1::RuntimeStatus s;
  const grpc::Status status = stub->GetStatus(&context, request, &s);
  if (!status.ok()) return Report(status);
  std::printf("runtime:    %s\n", s.runtime().c_str());
  std::printf("state:      %s\n",
              ggufd::v1::RuntimeState_Name(s.state()).c_str() +
                  sizeof("RUNTIME_STATE_") - 1);
  std::printf("model:      %s\n",
              s.model_loaded() ? s.model().name().c_str() : "(none)");
  std::printf("queue:      %d/%d\n", s.queue_depth(), s.queue_capacity());
  if (!s.running_operation().empty()) {
    std::printf("running:    %s %s\n", s.running_operation().c_str(),
                s.running_request_id().c_str());
  }
  std::printf("kv cache:   %d tokens\n", s.kv_tokens_used());
  std::printf("sessions:   %d, %llu of %llu KV cache bytes\n",
              s.sessions().sessions(),
              static_cast<unsigned long long>(s.sessions().kv_bytes()),
              static_cast<unsigned long long>(s.sessions().kv_budget_bytes()));
  std::printf("generated:  %llu tokens in %llu generations\n",
              static_cast<unsigned long long>(s.counters().generated_tokens()),
              static_cast<unsigned long long>(s.counters().generations()));
  if (!s.last_error().empty()) {
    std::printf("last error: %s\n", s.last_error().c_str());
  }
  return kExitOk;
}

}  // namespace

void AddLoadCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                    int& exit_code) {
  auto path = std::make_shared<std::string>();
  auto context_length = std::make_shared<int>(0);
  auto* cmd = app.add_subcommand(
      "load", "Load a GGUF file (a path inside the server's model directory)");
  cmd->add_option("path", *path, "Model path")->required();
  cmd->add_option("-c,--context-length", *context_length, "Context length")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([connection, path, context_length, &exit_code] {
    exit_code = Load(*connection, *path, *context_length);
  });
}

void AddTokenizeCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                        int& exit_code) {
  auto text = std::make_shared<std::string>();
  auto special = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text");
  cmd->add_option("text", *text, "Text")->required();
  cmd->add_flag("--special", *special, "Parse special-token text");
  cmd->callback([connection, text, special, &exit_code] {
    exit_code = Tokenize(*connection, *text, *special);
  });
}

void AddStatusCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                      int& exit_code) {
  auto* cmd = app.add_subcommand("status", "Show a runtime's status");
  cmd->callback(
      [connection, &exit_code] { exit_code = PrintStatus(*connection); });
}

}  // namespace ggufctl
