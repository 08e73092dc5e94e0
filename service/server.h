// One ggufd server: the gRPC services (Inference, Runtime, Diagnostics,
// health, reflection, channelz, and TestHooks when enabled), the runtime
// registry behind them, and the metrics endpoint; optionally TLS/mTLS,
// authentication with roles, and a plaintext health-only port for the
// kubelet. Drain() is the graceful shutdown: health goes NOT_SERVING, new
// work is refused, running work may finish within a grace period, then
// everything stops.
#ifndef GGUFD_SERVICE_SERVER_H_
#define GGUFD_SERVICE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/runtime.h"
#include "service/connection_limits.h"
#include "service/json_log.h"
#include "service/security/request_limits.h"
#include "service/security/tls_credentials.h"

namespace ggufd {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // port 0 = any free port
  // Metrics over HTTP on this port of the listen host; 0 = any free port,
  // -1 = no metrics endpoint.
  int metrics_port = 9464;
  std::string model;      // loaded into "default" at start (optional)
  std::string model_dir;  // LoadModel paths are confined to it
  std::string state_dir;  // saved sessions live here; empty = none
  SessionLimits sessions;
  int32_t threads = 0;
  int32_t context_length = 0;
  size_t queue_capacity = 64;
  int keepalive_time_ms = 60000;
  int keepalive_timeout_ms = 20000;
  ConnectionLimits connections;  // age, idle and ping limits
  bool enable_test_hooks = false;

  // TLS on `listen` (and mTLS with a client CA).
  security::TlsOptions tls;
  // Bearer-token hashes and certificate identities with their roles
  // (service/security/principals.h); empty = no authentication, every
  // caller is an admin.
  std::string auth_file;
  // gRPC reflection and channelz (admin-only with an auth file).
  bool reflection = true;
  bool channelz = true;
  // A second, plaintext port serving only grpc.health.v1, for probes that
  // cannot do TLS (the kubelet's gRPC probe); empty = none.
  std::string health_listen;
  // Serve through gRPC's xDS server (service/xds_serving.h): the Listener
  // comes from the control plane in the bootstrap, read from
  // `xds_bootstrap` or gRPC's own GRPC_XDS_BOOTSTRAP(_CONFIG).
  bool xds = false;
  std::string xds_bootstrap;
  security::RequestLimits limits;
  // The OpenAI-compatible HTTP API (service/http/): a port on the listen
  // host (0 = any free port, -1 = off), or a host:port of its own.
  int http_port = -1;
  std::string http_listen;
  size_t http_max_connections = 64;  // served at once, one thread each
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, JsonLog& log);
  ~Server();

  int port() const;
  int metrics_port() const;
  int health_port() const;  // 0 without --health-listen
  int http_port() const;    // -1 without the HTTP API

  // Graceful shutdown (see above); returns once everything has stopped.
  void Drain(absl::Duration grace);

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_SERVER_H_
