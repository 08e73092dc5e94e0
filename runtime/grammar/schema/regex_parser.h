// Parses the ECMAScript regular-expression subset that JSON Schema's
// "pattern" uses (no flags) into a small tree: literals and escapes, classes,
// `.`, groups, alternation, greedy or lazy quantifiers, and `^`/`$` anchors
// (whose placement the converter checks). Constructs a grammar cannot express
// (backreferences, lookaround, word boundaries, Unicode property escapes) are
// InvalidArgument naming the construct and its offset.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_PARSER_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_PARSER_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/grammar/schema/codepoint_set.h"

namespace ggufd::grammar::schema {

struct RegexNode {
  enum class Kind {
    kEmpty,
    kSet,  // one character from `set`
    kSeq,
    kAlt,
    kRepeat,  // items[0]{min,max}, max -1 = unbounded
    kStart,   // ^
    kEnd,     // $
  };
  Kind kind = Kind::kEmpty;
  CodepointSet set;
  std::vector<RegexNode> items;
  int64_t min = 0;
  int64_t max = -1;
};

// ECMAScript `.` without the s flag: anything but a line terminator.
CodepointSet EcmaDotSet();

absl::StatusOr<RegexNode> ParseEcmaRegex(std::string_view pattern);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_PARSER_H_
