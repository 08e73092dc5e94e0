// `ggufd serve --xds`: serving through gRPC's xDS server (a proxyless
// service mesh). The server fetches its Listener from the control plane
// named in an xDS bootstrap and accepts calls only while it has one; its
// credentials come from that Listener, with ggufd's own TLS (or plaintext)
// as the fallback when the Listener configures none.
#ifndef GGUFD_SERVICE_XDS_SERVING_H_
#define GGUFD_SERVICE_XDS_SERVING_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/xds_server_builder.h"
#include "service/json_log.h"

namespace ggufd {

// Finds the bootstrap (`bootstrap_file` if given, which then becomes
// GRPC_XDS_BOOTSTRAP for gRPC; else GRPC_XDS_BOOTSTRAP or
// GRPC_XDS_BOOTSTRAP_CONFIG), checks that it is JSON with xds_servers and
// a server_listener_resource_name_template, and that `listen` has a fixed
// port. gRPC would otherwise quietly serve without xDS (no template, no
// bootstrap) or watch a Listener named after port 0. Call it before any
// thread starts: it may set an environment variable.
absl::Status PrepareXdsBootstrap(const std::string& bootstrap_file,
                                 const std::string& listen);

// Logs each change of the xDS serving status of a listening address
// (gRPC may repeat an update; repeats are not logged).
class XdsServingStatusLog final
    : public grpc::XdsServerServingStatusNotifierInterface {
 public:
  explicit XdsServingStatusLog(JsonLog& log) : log_(log) {}
  void OnServingStatusUpdate(std::string uri,
                             ServingStatusUpdate update) override;

 private:
  JsonLog& log_;
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> last_;
};

// An XdsServerBuilder reporting to `notifier` (which must outlive the
// server), after checking that gRPC itself accepts the bootstrap: a
// bootstrap it refuses would turn the builder into a plain server.
// gRPC must be initialized by the caller (any live credentials object
// holds it).
absl::StatusOr<std::unique_ptr<grpc::ServerBuilder>> MakeXdsServerBuilder(
    XdsServingStatusLog* notifier);

// The credentials of an xDS server: the Listener's, else `fallback`.
std::shared_ptr<grpc::ServerCredentials> XdsCredentialsOver(
    std::shared_ptr<grpc::ServerCredentials> fallback);

}  // namespace ggufd

#endif  // GGUFD_SERVICE_XDS_SERVING_H_
