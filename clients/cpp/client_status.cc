#include "clients/cpp/client_status.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ggufctl {
namespace {

std::string CodeName(grpc::StatusCode code) {
  // gRPC's codes and absl's are the same numbers with the same names.
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Report(const grpc::Status& status) {
  if (status.ok()) return kExitOk;
  std::string detail;
  google::rpc::Status details;
  if (details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::ErrorInfo info;
      google::rpc::RetryInfo retry;
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&info)) {
        auto code = info.metadata().find("error_code");
        detail += " [" + info.reason();
        if (code != info.metadata().end()) {
          detail += ", error_code " + code->second;
        }
        detail += "]";
      } else if (any.UnpackTo(&retry)) {
        const auto& d = retry.retry_delay();
        detail += " (retry after " +
                  std::to_string(d.seconds() * 1000 + d.nanos() / 1000000) +
                  " ms)";
      } else if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) {
          detail += " {field " + v.field() + "}";
        }
      }
    }
  }
  std::fprintf(stderr, "ggufctl: %s: %s%s\n",
               CodeName(status.error_code()).c_str(),
               status.error_message().c_str(), detail.c_str());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitUnavailable;
    case grpc::StatusCode::CANCELLED:
      return kExitInterrupted;
    default:
      return kExitError;
  }
}

std::shared_ptr<grpc::Channel> Connection::Channel() const {
  if (!UsesTls()) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  // The files were checked to exist when the flags were parsed.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(tls_ca_file);
  ssl.pem_cert_chain = ReadFile(tls_cert_file);
  ssl.pem_private_key = ReadFile(tls_key_file);
  grpc::ChannelArguments args;
  if (!tls_server_name.empty()) {
    args.SetSslTargetNameOverride(tls_server_name);
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

void Connection::Prepare(grpc::ClientContext& context) const {
  if (timeout_s > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(timeout_s));
  }
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

}  // namespace ggufctl
