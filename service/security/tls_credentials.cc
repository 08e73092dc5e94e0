#include "service/security/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "runtime/common/str_cat.h"

namespace ggufd::security {
namespace {

struct BioCloser {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Closer {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyCloser {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioCloser>;
using Cert = std::unique_ptr<X509, X509Closer>;
using Key = std::unique_ptr<EVP_PKEY, KeyCloser>;

absl::StatusOr<Bio> OpenFile(const std::string& path, const char* what) {
  Bio bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        StrCat("cannot read the ", what, " ", path));
  }
  return bio;
}

// The first certificate in `path`, and how many it holds.
absl::StatusOr<Cert> ReadCertificates(const std::string& path, const char* what,
                                      int& count) {
  auto bio = OpenFile(path, what);
  if (!bio.ok()) return bio.status();
  Cert first;
  count = 0;
  while (X509* cert =
             PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)) {
    if (count++ == 0) {
      first.reset(cert);
    } else {
      X509_free(cert);
    }
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (count == 0) {
    return absl::InvalidArgumentError(
        StrCat("the ", what, " ", path, " holds no PEM certificate"));
  }
  return first;
}

}  // namespace

absl::Status CheckTlsFiles(const TlsOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.enabled()) {
    if (options.mutual()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs --tls-cert and --tls-key");
    }
    return absl::OkStatus();
  }
  int count = 0;
  auto cert = ReadCertificates(options.cert_file, "certificate", count);
  if (!cert.ok()) return cert.status();
  auto key_bio = OpenFile(options.key_file, "private key");
  if (!key_bio.ok()) return key_bio.status();
  Key key(PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(StrCat("the private key ",
                                             options.key_file,
                                             " is not an unencrypted PEM key"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        StrCat("the private key ", options.key_file,
               " does not belong to the certificate ", options.cert_file));
  }
  if (options.mutual()) {
    if (auto ca = ReadCertificates(options.client_ca_file, "client CA", count);
        !ca.ok()) {
      return ca.status();
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> MakeTlsServerCredentials(
    const TlsOptions& options) {
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          options.key_file, options.cert_file, options.client_ca_file,
          static_cast<unsigned int>(options.reload_interval_s));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.mutual()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(
        options.client_cert_required
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace ggufd::security
