#include "service/metrics/metrics_http_server.h"

#include "absl/status/status.h"
#include "httplib.h"
#include "runtime/common/str_cat.h"

namespace ggufd::metrics {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, Registry& registry) {
  std::unique_ptr<MetricsHttpServer> self(new MetricsHttpServer());
  self->server_ = std::make_unique<httplib::Server>();
  Registry* r = &registry;
  self->server_->Get(
      "/metrics", [r](const httplib::Request&, httplib::Response& response) {
        response.set_content(r->Render(), "text/plain; version=0.0.4");
      });
  self->port_ = port == 0
                    ? self->server_->bind_to_any_port(host)
                    : (self->server_->bind_to_port(host, port) ? port : -1);
  if (self->port_ <= 0) {
    return absl::UnavailableError(
        StrCat("cannot listen for metrics on ", host, ":", port));
  }
  httplib::Server* server = self->server_.get();
  self->thread_ = std::thread([server] { server->listen_after_bind(); });
  // stop() is a no-op before the listen loop runs: wait for it, so the
  // destructor can always stop it.
  while (!server->is_running()) std::this_thread::yield();
  return self;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ggufd::metrics
