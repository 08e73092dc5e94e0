// Serves a metrics registry at GET /metrics over plain HTTP/1.1 on a side
// port, on its own thread.
//
// One thread multiplexes every connection with poll() on non-blocking
// sockets, so an idle or slow client costs a descriptor and a few bytes,
// never a thread: no client can hold up another's scrape (a thread per
// connection from a fixed pool, as cpp-httplib and civetweb do, is
// exhausted by a handful of idle sockets). Every connection has a deadline
// (the request head within 5 s, the answer written within 10 s), the server
// keeps at most 512 (a new one evicts the oldest), answers one request per
// connection and then closes it, as HTTP/1.1 allows with `Connection: close`.
#ifndef GGUFD_SERVICE_METRICS_METRICS_HTTP_SERVER_H_
#define GGUFD_SERVICE_METRICS_METRICS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "service/metrics/metrics_registry.h"

namespace ggufd::metrics {

class MetricsHttpServer {
 public:
  // Binds `host`:`port` (0 = any free port) and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port, Registry& registry);
  // Stops serving, closes every connection and joins the server thread.
  ~MetricsHttpServer();

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  explicit MetricsHttpServer(Registry& registry) : registry_(registry) {}
  void Serve();

  Registry& registry_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd the destructor writes to stop Serve()
  int port_ = 0;
  std::thread thread_;
};

}  // namespace ggufd::metrics

#endif  // GGUFD_SERVICE_METRICS_METRICS_HTTP_SERVER_H_
