// Bearer tokens are never stored or compared in the clear: the auth file
// holds the hex SHA-256 of each token, and a presented token is hashed
// before it is looked up.
#ifndef GGUFD_SERVICE_SECURITY_TOKEN_HASH_H_
#define GGUFD_SERVICE_SECURITY_TOKEN_HASH_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ggufd::security {

// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string Sha256Hex(std::string_view bytes);

// Whether `text` is 64 lower- or upper-case hex digits.
bool IsSha256Hex(std::string_view text);

// The token of an `authorization` header value "Bearer <token>" (the scheme
// is case-insensitive, RFC 6750); nullopt for any other form.
std::optional<std::string_view> BearerToken(std::string_view header);

// A new random token: 32 bytes from the system's CSPRNG as 64 hex digits.
absl::StatusOr<std::string> NewToken();

}  // namespace ggufd::security

#endif  // GGUFD_SERVICE_SECURITY_TOKEN_HASH_H_
