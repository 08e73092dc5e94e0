// Confines LoadModel paths to the server's model directory: a client names
// a file relative to it (or an absolute path inside it) and can never reach
// anything else, whether through "..", an absolute path, or a symlink that
// points outside.
#ifndef GGUFD_SERVICE_MODEL_PATH_H_
#define GGUFD_SERVICE_MODEL_PATH_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ggufd {

class ModelDirectory {
 public:
  // `root` must exist; it is canonicalized once (symlinks resolved).
  static absl::StatusOr<ModelDirectory> Open(const std::string& root);

  // The canonical path of the file `requested` names. INVALID_ARGUMENT for
  // an empty or NUL-containing path, PERMISSION_DENIED (error code 11) for
  // a ".." component or anything resolving outside the directory,
  // MODEL_NOT_FOUND (2) when no such regular file exists inside it.
  absl::StatusOr<std::string> Resolve(std::string_view requested) const;

  const std::string& root() const { return root_; }

 private:
  explicit ModelDirectory(std::string root) : root_(std::move(root)) {}
  std::string root_;  // canonical, no trailing slash
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_MODEL_PATH_H_
