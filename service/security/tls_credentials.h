// TLS for the gRPC port: the server's certificate and key, and optionally a
// CA whose client certificates are verified (mTLS). gRPC's
// FileWatcherCertificateProvider reads the files again every
// reload_interval_s, so certificates a mesh or cert-manager rotates are
// picked up by new connections without a restart (established ones keep
// theirs). Replace the files atomically (write elsewhere and rename, or swap
// a symlinked directory as Kubernetes does for Secret volumes): the watcher
// may otherwise read a key and a certificate that do not belong together.
#ifndef GGUFD_SERVICE_SECURITY_TLS_CREDENTIALS_H_
#define GGUFD_SERVICE_SECURITY_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/security/server_credentials.h"

namespace ggufd::security {

struct TlsOptions {
  std::string cert_file;       // PEM certificate chain, leaf first
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // PEM CA bundle for client certificates
  // With client_ca_file: refuse clients without a certificate (else a
  // certificate is verified when sent, and optional).
  bool client_cert_required = true;
  int reload_interval_s = 60;

  bool enabled() const { return !cert_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

// Reads the files once and checks them (PEM parses, the key belongs to the
// certificate), so a bad file stops the server at start with a clear
// message instead of failing every handshake.
absl::Status CheckTlsFiles(const TlsOptions& options);

// Credentials that watch the files (CheckTlsFiles first).
std::shared_ptr<grpc::ServerCredentials> MakeTlsServerCredentials(
    const TlsOptions& options);

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_TLS_CREDENTIALS_H_
