#include "service/xds_serving.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "grpc/grpc.h"
#include "nlohmann/json.hpp"
#include "runtime/common/str_cat.h"
#include "service/security/listen_address.h"

namespace ggufd {

namespace {

absl::StatusOr<std::string> ReadBootstrap(const std::string& bootstrap_file) {
  std::string file = bootstrap_file;
  if (file.empty()) {
    const char* env_file = getenv("GRPC_XDS_BOOTSTRAP");
    if (env_file != nullptr) file = env_file;
  }
  if (file.empty()) {
    const char* config = getenv("GRPC_XDS_BOOTSTRAP_CONFIG");
    if (config != nullptr && *config != '\0') return std::string(config);
    return absl::InvalidArgumentError(
        "--xds needs an xDS bootstrap: --xds-bootstrap FILE (or "
        "GGUFD_XDS_BOOTSTRAP), GRPC_XDS_BOOTSTRAP=FILE or "
        "GRPC_XDS_BOOTSTRAP_CONFIG=JSON");
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(
        StrCat("cannot read the xDS bootstrap ", file));
  }
  return text.str();
}

}  // namespace

absl::Status PrepareXdsBootstrap(const std::string& bootstrap_file,
                                 const std::string& listen) {
  if (security::ListenPort(listen) <= 0) {
    return absl::InvalidArgumentError(
        StrCat("--xds needs --listen with a fixed host:port (not ", listen,
               "): the control plane names the server's Listener after it"));
  }
  auto text = ReadBootstrap(bootstrap_file);
  if (!text.ok()) return text.status();
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object()) {
    return absl::InvalidArgumentError("the xDS bootstrap is not a JSON object");
  }
  const auto servers = json.find("xds_servers");
  if (servers == json.end() || !servers->is_array() || servers->empty()) {
    return absl::InvalidArgumentError(
        "the xDS bootstrap names no control plane (xds_servers)");
  }
  const auto name_template =
      json.find("server_listener_resource_name_template");
  if (name_template == json.end() || !name_template->is_string() ||
      name_template->get<std::string>().empty()) {
    // Without it gRPC logs an error and serves as a plain server.
    return absl::InvalidArgumentError(
        "the xDS bootstrap has no server_listener_resource_name_template, "
        "which an xDS server needs (e.g. "
        "\"grpc/server?xds.resource.listening_address=%s\")");
  }
  // A file named on the command line is the one gRPC reads.
  if (!bootstrap_file.empty() &&
      setenv("GRPC_XDS_BOOTSTRAP", bootstrap_file.c_str(), 1) != 0) {
    return absl::InternalError("cannot set GRPC_XDS_BOOTSTRAP");
  }
  return absl::OkStatus();
}

void XdsServingStatusLog::OnServingStatusUpdate(std::string uri,
                                                ServingStatusUpdate update) {
  const int code = static_cast<int>(update.status.error_code());
  std::string message = update.status.error_message();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, added] = last_.try_emplace(uri, code, message);
    if (!added) {
      if (it->second == std::make_pair(code, message)) return;
      it->second = {code, message};
    }
  }
  if (update.status.ok()) {
    log_.Info("xds serving", {{"address", uri}});
  } else {
    // Until the control plane sends a Listener for this address (or after
    // it removes it) gRPC accepts connections and closes them.
    log_.Warn("xds not serving",
              {{"address", uri}, {"code", code}, {"error", message}});
  }
}

absl::StatusOr<std::unique_ptr<grpc::ServerBuilder>> MakeXdsServerBuilder(
    XdsServingStatusLog* notifier) {
  // The same call XdsServerBuilder makes when it builds: nullptr means gRPC
  // refused the bootstrap (its reason is in gRPC's own log) and would have
  // served without xDS.
  grpc_channel_args no_args = {0, nullptr};
  grpc_server_config_fetcher* probe =
      grpc_server_config_fetcher_xds_create({nullptr, nullptr}, &no_args);
  if (probe == nullptr) {
    return absl::InvalidArgumentError(
        "gRPC refused the xDS bootstrap (see its error above); not serving "
        "without xDS");
  }
  grpc_server_config_fetcher_destroy(probe);
  auto builder = std::make_unique<grpc::XdsServerBuilder>();
  builder->set_status_notifier(notifier);
  return builder;
}

std::shared_ptr<grpc::ServerCredentials> XdsCredentialsOver(
    std::shared_ptr<grpc::ServerCredentials> fallback) {
  return grpc::XdsServerCredentials(fallback);
}

}  // namespace ggufd
