// A set of Unicode code points as sorted, disjoint, non-adjacent closed
// ranges: what a regex character class or a GBNF `[...]` denotes. Kept
// normalized so that equal sets compare equal.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_CODEPOINT_SET_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_CODEPOINT_SET_H_

#include <utility>
#include <vector>

namespace ggufd::grammar::schema {

inline constexpr char32_t kMaxCodepoint = 0x10FFFF;

class CodepointSet {
 public:
  using Range = std::pair<char32_t, char32_t>;

  CodepointSet() = default;
  static CodepointSet Single(char32_t c) { return Of(c, c); }
  static CodepointSet Of(char32_t lo, char32_t hi);
  static CodepointSet All() { return Of(0, kMaxCodepoint); }

  void Add(char32_t lo, char32_t hi);
  void Add(char32_t c) { Add(c, c); }
  void AddSet(const CodepointSet& other);

  CodepointSet Complement() const;
  CodepointSet Intersect(const CodepointSet& other) const;
  CodepointSet Minus(const CodepointSet& other) const {
    return Intersect(other.Complement());
  }

  bool Contains(char32_t c) const;
  bool empty() const { return ranges_.empty(); }
  // True when the set holds exactly one code point.
  bool IsSingle() const {
    return ranges_.size() == 1 && ranges_[0].first == ranges_[0].second;
  }
  const std::vector<Range>& ranges() const { return ranges_; }

  friend bool operator==(const CodepointSet&, const CodepointSet&) = default;

 private:
  std::vector<Range> ranges_;
};

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_CODEPOINT_SET_H_
