#include "service/http/openai_http_door.h"

#include <chrono>
#include <map>
#include <thread>
#include <utility>

#include "grpcpp/support/string_ref.h"
#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "service/http/door_context.h"
#include "service/http/embeddings_route.h"
#include "service/http/generate_route.h"
#include "service/http/http_errors.h"
#include "service/rpc_log.h"
#include "service/runtime_registry.h"

namespace ggufd::http {
namespace {

using nlohmann::json;

// A runtime as OpenAI's model object, with what ggufd knows of its model.
json ModelObject(const WorkerSnapshot& s) {
  const ModelInfo& m = s.diagnostics.model;
  return {{"id", s.name},
          {"object", "model"},
          {"created", absl::ToUnixSeconds(s.started)},
          {"owned_by", "ggufd"},
          {"ggufd",
           {{"model", m.name},
            {"architecture", m.architecture},
            {"file_type", m.file_type},
            {"context_length", m.context_length},
            {"ready", s.alive && !s.diagnostics.poisoned}}}};
}

void Refuse(DoorContext& door, const httplib::Request& req,
            httplib::Response& res, absl::Time start,
            const absl::Status& status) {
  const HttpError error = ToHttpError(status);
  WriteError(res, error);
  LogHttpCall(door, req, kModelsMethod, start, error.status, status);
}

void ServeModels(DoorContext& door, const httplib::Request& req,
                 httplib::Response& res) {
  InFlight in_flight(door);
  const absl::Time start = absl::Now();
  auto caller = AdmitHttp(door, req, kModelsMethod, security::Role::kInference);
  if (!caller.ok()) return Refuse(door, req, res, start, caller.status());
  json data = json::array();
  for (const auto& worker : door.state.registry->List()) {
    const WorkerSnapshot s = worker->Snapshot();
    if (s.diagnostics.model_loaded) data.push_back(ModelObject(s));
  }
  res.set_content(Dump({{"object", "list"}, {"data", std::move(data)}}),
                  "application/json");
  LogHttpCall(door, req, kModelsMethod, start, 200, absl::OkStatus());
}

void ServeModel(DoorContext& door, const httplib::Request& req,
                httplib::Response& res) {
  InFlight in_flight(door);
  const absl::Time start = absl::Now();
  auto caller = AdmitHttp(door, req, kModelsMethod, security::Role::kInference);
  if (!caller.ok()) return Refuse(door, req, res, start, caller.status());
  auto worker = door.state.registry->Find(req.matches[1].str());
  if (!worker.ok()) return Refuse(door, req, res, start, worker.status());
  const WorkerSnapshot s = (*worker)->Snapshot();
  if (!s.diagnostics.model_loaded) {
    return Refuse(
        door, req, res, start,
        MakeError(ErrorCode::kNoModel,
                  StrCat("runtime ", s.name, " has no model loaded")));
  }
  res.set_content(Dump(ModelObject(s)), "application/json");
  LogHttpCall(door, req, kModelsMethod, start, 200, absl::OkStatus());
}

// As gRPC health's "ggufd.v1.Inference": serving while not draining and
// the default runtime has a usable model. Always open.
void ServeHealth(DoorContext& door, httplib::Response& res) {
  std::string status = "ok";
  if (door.state.draining.load()) {
    status = "draining";
  } else {
    auto worker = door.state.registry->Find(RuntimeRegistry::kDefaultName);
    if (!worker.ok()) {
      status = "no_default_runtime";
    } else {
      const WorkerSnapshot s = (*worker)->Snapshot();
      if (!s.alive) {
        status = "worker_down";
      } else if (!s.diagnostics.model_loaded) {
        status = "no_model";
      } else if (s.diagnostics.poisoned) {
        status = "poisoned";
      }
    }
  }
  res.status = status == "ok" ? 200 : 503;
  res.set_content(Dump({{"status", status}}), "application/json");
}

}  // namespace

absl::StatusOr<security::Caller> AdmitHttp(DoorContext& door,
                                           const httplib::Request& req,
                                           std::string_view method,
                                           security::Role needed) {
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  const auto [first, last] = req.headers.equal_range("Authorization");
  for (auto it = first; it != last; ++it) {
    metadata.emplace("authorization", grpc::string_ref(it->second));
  }
  return door.guards.access.Admit(metadata, nullptr,
                                  StrCat(req.remote_addr, ":", req.remote_port),
                                  method, needed, v1::GenerateRequest());
}

json HttpCallFields(std::string peer, int http_status) {
  return {{"transport", "http"},
          {"peer", std::move(peer)},
          {"http_status", http_status}};
}

std::string PeerOf(const httplib::Request& req) {
  return StrCat(req.remote_addr, ":", req.remote_port);
}

void LogHttpCall(DoorContext& door, const httplib::Request& req,
                 std::string_view method, absl::Time start, int http_status,
                 const absl::Status& status) {
  RpcCall call{.method = std::string(method),
               .start = start,
               .extra = HttpCallFields(PeerOf(req), http_status)};
  if (method == kUnroutedMethod) call.extra["path"] = req.path.substr(0, 256);
  LogRpc(door.state, call, status);
}

std::string_view HttpMethodOf(std::string_view path) {
  if (path == "/v1/chat/completions") return kChatCompletionsMethod;
  if (path == "/v1/completions") return kCompletionsMethod;
  if (path == "/v1/embeddings") return kEmbeddingsMethod;
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    return kModelsMethod;
  }
  return kUnroutedMethod;
}

namespace {

// The answer to a connection beyond --http-max-connections.
absl::Status Busy() {
  return MakeError(ErrorCode::kUnavailable, "too many connections; retry");
}

}  // namespace

struct OpenAiHttpDoor::Impl {
  Impl(const HttpDoorOptions& options, ServiceState& state,
       security::Guards& guards)
      : door{.state = state, .guards = guards, .spellers = spellers},
        server(
            options.limits, Dump(ToHttpError(Busy()).body),
            [this](const httplib::Request& req, httplib::Response& res,
                   const absl::Status& status) {
              if (GetErrorCode(status) == ErrorCode::kMessageTooLarge) {
                door.state.metrics->CountLimitRejection("message_bytes");
              }
              const HttpError error = ToHttpError(status);
              WriteError(res, error);
              LogHttpCall(door, req, HttpMethodOf(req.path), absl::Now(),
                          error.status, status);
            },
            [this](const std::string& peer) {
              door.state.metrics->CountLimitRejection("connections");
              LogRpc(door.state,
                     {.method = kUnreadMethod,
                      .start = absl::Now(),
                      .extra = HttpCallFields(peer, 503)},
                     Busy());
            }) {}

  TokenSpellers spellers;
  DoorContext door;
  BoundedHttpServer server;
  std::thread thread;
  bool stopped = false;
};

absl::StatusOr<std::unique_ptr<OpenAiHttpDoor>> OpenAiHttpDoor::Start(
    const HttpDoorOptions& options, ServiceState& state,
    security::Guards& guards) {
  auto impl = std::make_unique<Impl>(options, state, guards);
  DoorContext& door = impl->door;
  BoundedHttpServer& server = impl->server;
  server.Post("/v1/chat/completions",
              [&door](const httplib::Request& req, httplib::Response& res) {
                ServeGenerate(door, Endpoint::kChatCompletions, req, res);
              });
  server.Post("/v1/completions",
              [&door](const httplib::Request& req, httplib::Response& res) {
                ServeGenerate(door, Endpoint::kCompletions, req, res);
              });
  server.Post("/v1/embeddings",
              [&door](const httplib::Request& req, httplib::Response& res) {
                ServeEmbeddings(door, req, res);
              });
  server.Get("/v1/models",
             [&door](const httplib::Request& req, httplib::Response& res) {
               ServeModels(door, req, res);
             });
  server.Get(R"(/v1/models/([^/]+))",
             [&door](const httplib::Request& req, httplib::Response& res) {
               ServeModel(door, req, res);
             });
  server.Get("/health",
             [&door](const httplib::Request&, httplib::Response& res) {
               ServeHealth(door, res);
             });
  // Routes that do not exist, in OpenAI's error shape too. Called for
  // every answer >= 400; the routes' own errors have a body already.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [&door](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        // As OpenAI answers an unknown URL (no ggufd reason applies), and
        // what cpp-httplib refused before routing (a malformed head, a
        // body not received in time).
        if (res.status != 404) BoundedHttpServer::CloseAfterAnswer();
        const std::string message =
            res.status == 404
                ? StrCat("no route ", req.method, " ", req.path.substr(0, 256))
                : StrCat("the request could not be read (HTTP ", res.status,
                         ")");
        res.set_content(Dump({{"error",
                               {{"message", message},
                                {"type", "invalid_request_error"},
                                {"param", nullptr},
                                {"code", nullptr}}}}),
                        "application/json");
        LogHttpCall(door, req, HttpMethodOf(req.path), absl::Now(), res.status,
                    res.status == 404 ? absl::NotFoundError(message)
                                      : absl::InvalidArgumentError(message));
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([&door](const httplib::Request& req,
                                       httplib::Response& res,
                                       std::exception_ptr error) {
    // The client gets a generic 500; the log keeps what was thrown.
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    door.state.log->Error("http handler threw",
                          {{"path", req.path}, {"error", what}});
    WriteError(res, ToHttpError(
                        MakeError(ErrorCode::kInternal, "the request failed")));
  });
  const int port =
      options.port == 0
          ? server.bind_to_any_port(options.host)
          : (server.bind_to_port(options.host, options.port) ? options.port
                                                             : -1);
  if (port <= 0) {
    return absl::UnavailableError(StrCat("cannot listen on ", options.host, ":",
                                         options.port,
                                         " (--http-port / --http-listen)"));
  }
  impl->thread = std::thread([&server] { server.listen_after_bind(); });
  // stop() does nothing before the loop runs: wait for it.
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::unique_ptr<OpenAiHttpDoor> out(new OpenAiHttpDoor(std::move(impl)));
  out->port_ = port;
  return out;
}

OpenAiHttpDoor::OpenAiHttpDoor(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

OpenAiHttpDoor::~OpenAiHttpDoor() { Stop(absl::ZeroDuration()); }

void OpenAiHttpDoor::BeginDrain() { impl_->server.BeginDrain(); }

void OpenAiHttpDoor::Stop(absl::Duration wait) {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->server.BeginDrain();
  const absl::Time until = absl::Now() + wait;
  while (impl_->door.in_flight.load() > 0 && absl::Now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ggufd::http
