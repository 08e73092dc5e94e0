// Serves a metrics registry at GET /metrics over plain HTTP on a side port
// (cpp-httplib, from Debian), on its own threads.
#ifndef GGUFD_SERVICE_METRICS_METRICS_HTTP_SERVER_H_
#define GGUFD_SERVICE_METRICS_METRICS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "service/metrics/metrics_registry.h"

namespace httplib {
class Server;
}

namespace ggufd::metrics {

class MetricsHttpServer {
 public:
  // Binds `host`:`port` (0 = any free port) and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port, Registry& registry);
  // Stops serving and joins the server thread.
  ~MetricsHttpServer();

  int port() const { return port_; }

 private:
  MetricsHttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ggufd::metrics

#endif  // GGUFD_SERVICE_METRICS_METRICS_HTTP_SERVER_H_
