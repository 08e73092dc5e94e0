// Confines LoadModel paths to the server's model directory: a client names
// a file relative to it (or an absolute path inside it) and can never reach
// anything else, whether through "..", an absolute path, or a symlink that
// points outside.
#ifndef GGUFD_SERVICE_MODEL_PATH_H_
#define GGUFD_SERVICE_MODEL_PATH_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ggufd {

class ModelDirectory {
 public:
  // `root` must exist; it is canonicalized once (symlinks resolved).
  // `noun` names what it holds in errors ("model", "state").
  static absl::StatusOr<ModelDirectory> Open(const std::string& root,
                                             std::string noun = "model");

  // The canonical path of the file `requested` names. INVALID_ARGUMENT for
  // an empty or NUL-containing path, PERMISSION_DENIED (error code 11) for
  // a ".." component or anything resolving outside the directory,
  // MODEL_NOT_FOUND (2) when no such regular file exists inside it.
  absl::StatusOr<std::string> Resolve(std::string_view requested) const;

  // Where a file `requested` names may be written: the same confinement,
  // but the file need not exist (its directory must). A symlink in its
  // place is refused.
  absl::StatusOr<std::string> ResolveForWrite(std::string_view requested) const;

  // A resolved path as clients name it: relative to the directory.
  std::string Relative(const std::string& resolved) const;

  const std::string& root() const { return root_; }

 private:
  ModelDirectory(std::string root, std::string noun)
      : root_(std::move(root)), noun_(std::move(noun)) {}
  absl::Status Escape() const;
  // The requested path joined to the root and checked lexically.
  absl::StatusOr<std::filesystem::path> Lexical(
      std::string_view requested) const;

  std::string root_;  // canonical, no trailing slash
  std::string noun_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_MODEL_PATH_H_
