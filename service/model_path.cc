#include "service/model_path.h"

#include <filesystem>
#include <system_error>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

namespace fs = std::filesystem;

// Whether `path` is `root` itself or below it, compared by whole components
// ("/models2" is not inside "/models").
bool IsInside(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

absl::Status Escape() {
  return MakeError(ErrorCode::kPermissionDenied,
                   "the model path leads outside the model directory");
}

}  // namespace

absl::StatusOr<ModelDirectory> ModelDirectory::Open(const std::string& root) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return MakeError(ErrorCode::kModelNotFound,
                     StrCat("model directory ", root, " does not exist"));
  }
  return ModelDirectory(canonical.string());
}

absl::StatusOr<std::string> ModelDirectory::Resolve(
    std::string_view requested) const {
  if (requested.empty()) return InvalidField("path", "must not be empty");
  if (requested.find('\0') != std::string_view::npos) {
    return InvalidField("path", "must not contain NUL");
  }
  if (requested.size() > 4096) return InvalidField("path", "is too long");
  const fs::path asked(requested);
  for (const fs::path& part : asked) {
    if (part == "..") return Escape();
  }
  const fs::path root(root_);
  const fs::path joined = asked.is_absolute() ? asked : root / asked;
  std::error_code ec;
  // Lexically first, so an absolute path elsewhere is refused without
  // revealing whether it exists.
  if (!IsInside(joined.lexically_normal(), root)) return Escape();
  const fs::path real = fs::canonical(joined, ec);
  if (ec) {
    return MakeError(ErrorCode::kModelNotFound,
                     "no such model file in the model directory");
  }
  // Symlinks are resolved now: the target must still be inside.
  if (!IsInside(real, root)) return Escape();
  if (!fs::is_regular_file(real, ec)) {
    return MakeError(ErrorCode::kModelNotFound,
                     "the model path is not a regular file");
  }
  return real.string();
}

}  // namespace ggufd
