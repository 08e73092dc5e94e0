// Early-return helpers for absl::Status / absl::StatusOr. The Abseil shipped by
// Debian 12 (20220623) has no public equivalents, so the project keeps its own.
#ifndef GGUFD_RUNTIME_COMMON_STATUS_MACROS_H_
#define GGUFD_RUNTIME_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GGUFD_STATUS_CONCAT_INNER_(a, b) a##b
#define GGUFD_STATUS_CONCAT_(a, b) GGUFD_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status ggufd_status_ = (expr);         \
    if (!ggufd_status_.ok()) return ggufd_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, else
// moves the value into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  GGUFD_ASSIGN_OR_RETURN_IMPL_(      \
      GGUFD_STATUS_CONCAT_(ggufd_statusor_, __LINE__), lhs, rexpr)

#define GGUFD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // GGUFD_RUNTIME_COMMON_STATUS_MACROS_H_
