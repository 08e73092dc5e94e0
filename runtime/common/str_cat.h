// StrCat that also takes std::string_view. Debian's Abseil is built with its
// own absl::string_view type (ABSL_OPTION_USE_STD_STRING_VIEW=0), so
// absl::StrCat rejects std::string_view; absl::StrFormat accepts both.
#ifndef GGUFD_RUNTIME_COMMON_STR_CAT_H_
#define GGUFD_RUNTIME_COMMON_STR_CAT_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ggufd {

namespace str_cat_internal {

template <typename T>
decltype(auto) Piece(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view> &&
                !std::is_convertible_v<const T&, absl::string_view>) {
    const std::string_view s = v;
    return absl::string_view(s.data(), s.size());
  } else {
    return (v);
  }
}

}  // namespace str_cat_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(str_cat_internal::Piece(args)...);
}

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_COMMON_STR_CAT_H_
