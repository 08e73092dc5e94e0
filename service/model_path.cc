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

}  // namespace

absl::Status ModelDirectory::Escape() const {
  return MakeError(
      ErrorCode::kPermissionDenied,
      StrCat("the ", noun_, " path leads outside the ", noun_, " directory"));
}

absl::StatusOr<ModelDirectory> ModelDirectory::Open(const std::string& root,
                                                    std::string noun) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return MakeError(ErrorCode::kModelNotFound,
                     StrCat(noun, " directory ", root, " does not exist"));
  }
  return ModelDirectory(canonical.string(), std::move(noun));
}

absl::StatusOr<fs::path> ModelDirectory::Lexical(
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
  // Lexically first, so an absolute path elsewhere is refused without
  // revealing whether it exists.
  if (!IsInside(joined.lexically_normal(), root)) return Escape();
  return joined.lexically_normal();
}

absl::StatusOr<std::string> ModelDirectory::ResolveForWrite(
    std::string_view requested) const {
  auto joined = Lexical(requested);
  if (!joined.ok()) return joined.status();
  const fs::path root(root_);
  const fs::path name = joined->filename();
  if (name.empty() || name == "." || joined->string() == root_) {
    return InvalidField("path", "must name a file");
  }
  std::error_code ec;
  const fs::path parent = fs::canonical(joined->parent_path(), ec);
  if (ec || !fs::is_directory(parent, ec)) {
    return InvalidField(
        "path", StrCat("no such directory in the ", noun_, " directory"));
  }
  if (!IsInside(parent, root)) return Escape();
  const fs::path target = parent / name;
  if (fs::is_symlink(fs::symlink_status(target, ec))) {
    // Writing would replace the link, but refuse it rather than guess.
    return Escape();
  }
  if (fs::exists(target, ec) && !fs::is_regular_file(target, ec)) {
    return InvalidField("path", "names something other than a regular file");
  }
  return target.string();
}

std::string ModelDirectory::Relative(const std::string& resolved) const {
  return fs::path(resolved).lexically_relative(root_).string();
}

absl::StatusOr<std::string> ModelDirectory::Resolve(
    std::string_view requested) const {
  auto joined = Lexical(requested);
  if (!joined.ok()) return joined.status();
  const fs::path root(root_);
  std::error_code ec;
  const fs::path real = fs::canonical(*joined, ec);
  const ErrorCode missing = noun_ == "model" ? ErrorCode::kModelNotFound
                                             : ErrorCode::kSessionNotFound;
  if (ec) {
    return MakeError(missing, StrCat("no such ", noun_, " file in the ", noun_,
                                     " directory"));
  }
  // Symlinks are resolved now: the target must still be inside.
  if (!IsInside(real, root)) return Escape();
  if (!fs::is_regular_file(real, ec)) {
    return MakeError(missing,
                     StrCat("the ", noun_, " path is not a regular file"));
  }
  return real.string();
}

}  // namespace ggufd
