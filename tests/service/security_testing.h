// Helpers for the TLS, authentication and limits tests: certificates made
// at test time with the `openssl` command, auth files written with
// `ggufd hash-token`, TLS channels, calls with a bearer token, and the
// details a refusal carries.
#ifndef GGUFD_TESTS_SERVICE_SECURITY_TESTING_H_
#define GGUFD_TESTS_SERVICE_SECURITY_TESTING_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace ggufd::testing {

// A temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

// A throwaway certificate authority (EC P-256) in a temporary directory.
class TestPki {
 public:
  // Makes the CA "<name>-ca"; false (and a test failure) if openssl fails.
  explicit TestPki(const std::string& name = "ggufd-test");

  // Issues a server certificate for localhost and 127.0.0.1 with subject
  // CN `common_name` into <dir>/<file>.pem and <dir>/<file>.key.
  bool IssueServer(const std::string& dir, const std::string& file,
                   const std::string& common_name);
  // Issues a client certificate with CN `common_name` and a URI SAN `uri`
  // into <dir>/<file>.pem and .key.
  bool IssueClient(const std::string& dir, const std::string& file,
                   const std::string& common_name, const std::string& uri);

  std::string ca_file() const { return dir_ / "ca.pem"; }
  const TempDir& dir() const { return dir_; }

 private:
  bool Issue(const std::string& out_prefix, const std::string& subject,
             const std::string& extensions);
  TempDir dir_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);
// Writes then renames over `path`, so a reader sees the old or new file.
void ReplaceFile(const std::string& path, const std::string& text);

// The auth-file line for `token` (through `ggufd hash-token`).
std::string AuthLine(const std::string& token, const std::string& role,
                     const std::string& name);

// A channel to `address` over TLS trusting `ca_file`, with a client
// certificate when `cert_file`/`key_file` are given. Each call makes a new
// channel (and so a new connection).
std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          const std::string& ca_file,
                                          const std::string& cert_file = "",
                                          const std::string& key_file = "");
std::shared_ptr<grpc::Channel> PlainChannel(const std::string& address);

// A context with a 30 s deadline and, when `token` is not empty,
// `authorization: Bearer <token>`.
std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token);

// The ErrorInfo reason of a failed call ("" when absent).
std::string ReasonOf(const grpc::Status& status);

// The value of a log field of the first "listening" line.
int ListeningField(const std::vector<std::string>& log_lines,
                   const std::string& field);

}  // namespace ggufd::testing

#endif  // GGUFD_TESTS_SERVICE_SECURITY_TESTING_H_
