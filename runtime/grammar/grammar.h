// A compiled GBNF grammar (llama.cpp's format): rules as flat sequences of
// elements that a pushdown matcher (matcher.h) walks. Immutable once built,
// so one compiled grammar serves any number of requests on any threads.
//
// Layout: `elements` holds every alternative of every rule, each ended by a
// kEnd element; rule r's alternatives start at the offsets in
// `rules[r].alternatives`. A position in `elements` is what the matcher's
// stacks hold: "match the element here, then continue after it".
#ifndef GGUFD_RUNTIME_GRAMMAR_GRAMMAR_H_
#define GGUFD_RUNTIME_GRAMMAR_GRAMMAR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ggufd::grammar {

// Bounds that keep a hostile grammar from exhausting the process: each is
// a clear error when exceeded, never a hang.
inline constexpr size_t kMaxGrammarBytes = 256 * 1024;  // GBNF text
inline constexpr int kMaxNesting = 64;  // parentheses inside one another
inline constexpr uint32_t kMaxRepetition = 10000;  // m and n of {m,n}
inline constexpr size_t kMaxRules = 100000;        // after expansion
inline constexpr size_t kMaxElements = 2000000;    // after expansion

enum class Op : uint8_t {
  kEnd,       // end of an alternative
  kRule,      // the rule `arg`
  kChars,     // one code point of char set `arg`
  kToken,     // exactly the token of token ref `arg`
  kNotToken,  // one token other than the token of token ref `arg`
};

struct Element {
  Op op = Op::kEnd;
  uint32_t arg = 0;
};

// A set of code points: a GBNF literal character, a class ([a-z], [^"])
// or "." (negated and empty).
struct CharSet {
  bool negated = false;
  // Inclusive [first, last] ranges, sorted and merged.
  std::vector<std::pair<uint32_t, uint32_t>> ranges;

  bool Matches(uint32_t c) const;
  // Whether some range overlaps [low, high].
  bool Overlaps(uint32_t low, uint32_t high) const;
};

// A token named by the grammar: `<[123]>` (by id) or `<think>` (by text,
// resolved against the vocabulary when a matcher is made).
struct TokenRef {
  int64_t id = -1;   // -1 when named by text
  std::string text;  // the whole "<think>", brackets included
};

struct Rule {
  std::string name;  // "root", "value", or a generated "value_3"
  std::vector<uint32_t> alternatives;  // offsets into Grammar::elements
};

struct Grammar {
  std::vector<Element> elements;
  std::vector<Rule> rules;
  std::vector<CharSet> char_sets;
  std::vector<TokenRef> token_refs;
  uint32_t root = 0;  // the rule named "root"
  // The GBNF text it was compiled from (converted, for a JSON Schema or a
  // regular expression), for diagnostics.
  std::string source;

  // The grammar in GBNF again, one rule a line (expansions included), for
  // diagnostics and tests.
  std::string ToGbnf() const;
};

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_GRAMMAR_H_
