// How deeply a JSON text nests, read from the text alone: nlohmann-json
// parses recursively, so untrusted documents are measured before it sees
// them (a few thousand '[' would otherwise exhaust the stack).
#ifndef GGUFD_RUNTIME_COMMON_JSON_DEPTH_H_
#define GGUFD_RUNTIME_COMMON_JSON_DEPTH_H_

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace ggufd {

// The depth of the deepest array or object in `text` (strings skipped); the
// answer matters only for text that is JSON syntactically.
inline int JsonNestingDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_COMMON_JSON_DEPTH_H_
