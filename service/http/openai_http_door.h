// The OpenAI-compatible HTTP API (`ggufd serve --http-port`): a second front
// door onto the same runtimes. Its handlers turn OpenAI JSON into the
// ggufd.v1 requests and run them through the very code gRPC calls run
// through: AccessGuard (bearer tokens, roles), Guards::CheckGenerate
// (limits, session owners), AdmitGenerate (validation, the runtime's queue,
// request ids that Inference.Cancel and the drain reach), the same
// GenerationStream, EmbedCall, LogRpc (the request metric and the
// "rpc" log line). Only the wire format is its own.
//
//   POST /v1/chat/completions   chat (stream: server-sent events)
//   POST /v1/completions        text or token-id prompts (stream too)
//   POST /v1/embeddings         Inference.Embed
//   GET  /v1/models, /v1/models/{id}   runtimes with a model loaded
//   GET  /health                200 while serving with the default runtime
//                               ready, else 503 (always open, as gRPC health)
//
// `model` names the runtime (empty: "default"). Plain HTTP: put TLS in a
// proxy or mesh in front when it leaves the host.
#ifndef GGUFD_SERVICE_HTTP_OPENAI_HTTP_DOOR_H_
#define GGUFD_SERVICE_HTTP_OPENAI_HTTP_DOOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/http/bounded_http_server.h"
#include "service/security/guarded_services.h"
#include "service/service_state.h"

namespace ggufd::http {

struct HttpDoorOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  HttpLimits limits;
};

class OpenAiHttpDoor {
 public:
  // Binds and starts serving on a thread of its own.
  static absl::StatusOr<std::unique_ptr<OpenAiHttpDoor>> Start(
      const HttpDoorOptions& options, ServiceState& state,
      security::Guards& guards);
  // Stops at once (as Stop with no wait).
  ~OpenAiHttpDoor();

  int port() const { return port_; }

  // The drain began: answers say `Connection: close` and idle connections
  // close; new calls are refused by the shared admission (SHUTTING_DOWN).
  void BeginDrain();
  // Waits up to `wait` for the calls in flight to end (the runtimes have
  // ended their generations by then), then closes the port and every
  // connection and joins the threads.
  void Stop(absl::Duration wait);

  struct Impl;

 private:
  explicit OpenAiHttpDoor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_OPENAI_HTTP_DOOR_H_
