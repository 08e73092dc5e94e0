// How ggufctl reports a failed call to a shell user: one line on stderr
// with the gRPC code, the message and ggufd's error code, and an exit
// status scripts can branch on.
#ifndef GGUFD_CLIENTS_CPP_CLIENT_STATUS_H_
#define GGUFD_CLIENTS_CPP_CLIENT_STATUS_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace ggufctl {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // the server refused or failed
inline constexpr int kExitUsage = 2;        // bad command line (CLI11's too)
inline constexpr int kExitUnavailable = 3;  // no server / retry later
inline constexpr int kExitInterrupted = 130;

// The contents of `path` ("" for an empty path). Paths come from flags
// checked to name existing files.
std::string ReadFile(const std::string& path);

// Prints `ggufctl: CODE: message [REASON, error_code N]` (plus the retry
// delay when the server sent one) and returns the exit status for it.
int Report(const grpc::Status& status);

// Options every command shares.
struct Connection {
  std::string address = "127.0.0.1:50051";
  std::string runtime;
  int timeout_s = 0;  // 0 = no deadline
  // TLS: on with `tls` or any of the files. Without a CA file the system's
  // roots verify the server; cert + key are the client's (mTLS).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;  // the name to verify instead of the host
  // Sent as `authorization: Bearer <token>` on every call.
  std::string token;

  bool UsesTls() const {
    return tls || !tls_ca_file.empty() || !tls_cert_file.empty();
  }
  std::shared_ptr<grpc::Channel> Channel() const;
  // Applies the deadline and the token to `context`.
  void Prepare(grpc::ClientContext& context) const;
};

}  // namespace ggufctl

#endif  // GGUFD_CLIENTS_CPP_CLIENT_STATUS_H_
