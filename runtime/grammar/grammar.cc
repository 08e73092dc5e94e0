#include "runtime/grammar/grammar.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "runtime/common/str_cat.h"

namespace ggufd::grammar {
namespace {

// The first range whose last code point is >= c (ranges are sorted and
// disjoint, so it is the only one that can hold c).
auto FirstEndingAtOrAfter(const std::vector<std::pair<uint32_t, uint32_t>>& r,
                          uint32_t c) {
  return std::lower_bound(r.begin(), r.end(), c,
                          [](const std::pair<uint32_t, uint32_t>& range,
                             uint32_t value) { return range.second < value; });
}

void AppendCodePoint(std::string& out, uint32_t c, bool in_class) {
  if (c == '\\' || c == '"' ||
      (in_class && (c == ']' || c == '[' || c == '-' || c == '^'))) {
    absl::StrAppendFormat(&out, "\\x%02X", c);
  } else if (c >= 0x20 && c < 0x7F) {
    out.push_back(static_cast<char>(c));
  } else if (c <= 0xFF) {
    absl::StrAppendFormat(&out, "\\x%02X", c);
  } else if (c <= 0xFFFF) {
    absl::StrAppendFormat(&out, "\\u%04X", c);
  } else {
    absl::StrAppendFormat(&out, "\\U%08X", c);
  }
}

}  // namespace

bool CharSet::Matches(uint32_t c) const {
  const auto it = FirstEndingAtOrAfter(ranges, c);
  const bool in = it != ranges.end() && it->first <= c;
  return in != negated;
}

bool CharSet::Overlaps(uint32_t low, uint32_t high) const {
  const auto it = FirstEndingAtOrAfter(ranges, low);
  return it != ranges.end() && it->first <= high;
}

std::string Grammar::ToGbnf() const {
  // Names as printed: a generated name that a grammar also defines gets
  // dashes until it is unique, so that the text parses again.
  std::vector<std::string> names;
  absl::flat_hash_set<std::string> taken;
  for (const Rule& rule : rules) {
    std::string name = rule.name;
    while (!taken.insert(name).second) name += "-";
    names.push_back(std::move(name));
  }
  std::string out;
  for (size_t r = 0; r < rules.size(); ++r) {
    const Rule& rule = rules[r];
    // A rule left without alternatives (they could never complete) is
    // referenced nowhere.
    if (rule.alternatives.empty()) continue;
    out += StrCat(names[r], " ::=");
    for (size_t a = 0; a < rule.alternatives.size(); ++a) {
      if (a > 0) out += " |";
      // An empty alternative as "": a bare `|` at the end of a line would
      // continue the rule onto the next one.
      if (elements[rule.alternatives[a]].op == Op::kEnd) out += " \"\"";
      for (uint32_t p = rule.alternatives[a]; elements[p].op != Op::kEnd; ++p) {
        const Element& e = elements[p];
        out.push_back(' ');
        switch (e.op) {
          case Op::kRule:
            out += names[e.arg];
            break;
          case Op::kChars: {
            const CharSet& set = char_sets[e.arg];
            if (set.negated && set.ranges.empty()) {
              out += ".";
              break;
            }
            out += set.negated ? "[^" : "[";
            for (const auto& [first, last] : set.ranges) {
              AppendCodePoint(out, first, true);
              if (last != first) {
                out.push_back('-');
                AppendCodePoint(out, last, true);
              }
            }
            out += "]";
            break;
          }
          case Op::kToken:
          case Op::kNotToken: {
            const TokenRef& ref = token_refs[e.arg];
            if (e.op == Op::kNotToken) out.push_back('!');
            out += ref.id >= 0 ? absl::StrFormat("<[%d]>", ref.id) : ref.text;
            break;
          }
          case Op::kEnd:
            break;
        }
      }
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace ggufd::grammar
