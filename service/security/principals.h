// Who may call ggufd, from the auth file (--auth-file). One credential per
// line, `#` starts a comment:
//
//   <credential> <role> <name>
//
//   credential  the hex SHA-256 of a bearer token (`ggufd hash-token`), or
//               cert:<identity> for a client certificate (mTLS) whose URI,
//               DNS or e-mail SAN, or else subject CN, is <identity>
//   role        inference | admin
//   name        the principal: what logs show, and the owner of the requests
//               and sessions it creates (several lines may share a name, so
//               tokens can be rotated and a principal may use a certificate)
//
// The file is read again when it changes (checked at most once a second), so
// tokens are added and revoked without a restart; a file that no longer
// parses keeps the previous table and logs an error.
#ifndef GGUFD_SERVICE_SECURITY_PRINCIPALS_H_
#define GGUFD_SERVICE_SECURITY_PRINCIPALS_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/json_log.h"

namespace ggufd::security {

// admin may do everything inference may.
enum class Role { kInference = 1, kAdmin = 2 };

std::string_view RoleName(Role role);

struct Principal {
  std::string name;
  Role role = Role::kInference;
};

class PrincipalTable {
 public:
  // INVALID_ARGUMENT naming the line for anything malformed, an unknown
  // role or a credential listed twice.
  static absl::StatusOr<PrincipalTable> Parse(std::string_view text);

  // The principal of a token given its hex SHA-256 (either case); null if
  // none.
  const Principal* FindTokenHash(std::string_view sha256_hex) const;
  // The principal of a client certificate identity; null if none.
  const Principal* FindCertificate(std::string_view identity) const;

  size_t tokens() const { return tokens_.size(); }
  size_t certificates() const { return certificates_.size(); }

 private:
  absl::flat_hash_map<std::string, Principal> tokens_;  // lower-case hex
  absl::flat_hash_map<std::string, Principal> certificates_;
};

class PrincipalStore {
 public:
  // Reads `path` once; its error when it cannot be read or parsed.
  static absl::StatusOr<std::unique_ptr<PrincipalStore>> Open(std::string path,
                                                              JsonLog* log);

  // The current table, read again first if the file changed.
  std::shared_ptr<const PrincipalTable> Current();

  const std::string& path() const { return path_; }

 private:
  // What identifies one version of the file.
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

  PrincipalStore(std::string path, JsonLog* log) : path_(path), log_(log) {}
  // Reads and parses the file; the stamp it had.
  absl::StatusOr<PrincipalTable> Read(Stamp& stamp) const;

  const std::string path_;
  JsonLog* const log_;
  std::mutex mu_;
  std::shared_ptr<const PrincipalTable> table_;
  Stamp stamp_;
  absl::Time checked_ = absl::InfinitePast();
};

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_PRINCIPALS_H_
