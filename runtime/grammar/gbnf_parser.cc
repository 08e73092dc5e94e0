#include "runtime/grammar/gbnf_parser.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/grammar/grammar_checks.h"

namespace ggufd::grammar {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The most of a repetition without one (*, +, {m,}).
constexpr int64_t kUnbounded = -1;

// Thrown inside the parser and turned into a status at its entry point; it
// carries the byte offset the problem is at.
struct ParseError {
  size_t offset;
  std::string message;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Grammar> Run() {
    try {
      ParseRules();
      return Finish();
    } catch (const ParseError& e) {
      return absl::InvalidArgumentError(
          StrCat(Where(e.offset), ": ", e.message));
    }
  }

 private:
  // "line 3, column 7", counting columns in characters from 1.
  std::string Where(size_t offset) const {
    offset = std::min(offset, text_.size());
    size_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < offset; ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    size_t column = 1;
    for (size_t i = line_start; i < offset; ++i) {
      if ((static_cast<uint8_t>(text_[i]) & 0xC0) != 0x80) ++column;
    }
    return StrCat("line ", line, ", column ", column);
  }

  [[noreturn]] void Fail(size_t offset, std::string message) const {
    throw ParseError{offset, std::move(message)};
  }

  // What is at `offset`, for "expecting X, found Y".
  std::string Found(size_t offset) const {
    if (offset >= text_.size()) return "the end of the grammar";
    const char c = text_[offset];
    if (c == '\n' || c == '\r') return "the end of the line";
    const uint8_t b = static_cast<uint8_t>(c);
    if (b < 0x20 || b == 0x7F) return absl::StrFormat("byte 0x%02X", b);
    size_t end = offset + 1;
    while (end < text_.size() &&
           (static_cast<uint8_t>(text_[end]) & 0xC0) == 0x80) {
      ++end;
    }
    return StrCat("'", text_.substr(offset, end - offset), "'");
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  // Blanks, tabs and # comments; line breaks too where the rule goes on
  // (inside parentheses, after `|` or `::=`).
  void SkipSpace(bool newlines) {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == ' ' || c == '\t' || (newlines && (c == '\r' || c == '\n'))) {
        ++pos_;
      } else if (c == '#') {
        while (!AtEnd() && Peek() != '\r' && Peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string_view ParseName() {
    const size_t start = pos_;
    while (!AtEnd() && IsNameChar(Peek())) ++pos_;
    if (pos_ == start) {
      Fail(start, StrCat("expecting a rule name, found ", Found(start)));
    }
    return text_.substr(start, pos_ - start);
  }

  uint32_t ParseCount() {
    const size_t start = pos_;
    if (!IsDigit(Peek())) {
      Fail(start, StrCat("expecting a number, found ", Found(start)));
    }
    uint64_t value = 0;
    while (IsDigit(Peek())) {
      value = value * 10 + static_cast<uint64_t>(Peek() - '0');
      if (value > kMaxRepetition) {
        Fail(start, StrCat("a repetition count above ", kMaxRepetition,
                           " is refused (the grammar would expand to a "
                           "rule per repetition)"));
      }
      ++pos_;
    }
    return static_cast<uint32_t>(value);
  }

  // One character of a literal or class: an escape or one UTF-8 character.
  uint32_t ParseChar() {
    const size_t start = pos_;
    if (AtEnd()) Fail(start, "unexpected end of the grammar");
    const uint8_t first = static_cast<uint8_t>(Peek());
    if (first == '\\') {
      const char kind = Peek(1);
      pos_ += 2;
      switch (kind) {
        case 'x':
          return ParseHex(start, 2);
        case 'u':
          return ParseHex(start, 4);
        case 'U':
          return ParseHex(start, 8);
        case 't':
          return '\t';
        case 'r':
          return '\r';
        case 'n':
          return '\n';
        case '\\':
        case '"':
        case '[':
        case ']':
          return static_cast<uint8_t>(kind);
        default:
          Fail(start, StrCat("unknown escape \\", Found(start + 1),
                             " (known: \\n \\t \\r \\\\ \\\" \\[ \\] \\xHH "
                             "\\uHHHH \\UHHHHHHHH)"));
      }
    }
    // Strict UTF-8: a grammar with broken text is refused, not guessed at.
    int length = 0;
    uint32_t value = 0;
    if (first < 0x80) {
      length = 1;
      value = first;
    } else if ((first & 0xE0) == 0xC0 && first >= 0xC2) {
      length = 2;
      value = first & 0x1F;
    } else if ((first & 0xF0) == 0xE0) {
      length = 3;
      value = first & 0x0F;
    } else if ((first & 0xF8) == 0xF0 && first <= 0xF4) {
      length = 4;
      value = first & 0x07;
    } else {
      Fail(start, "invalid UTF-8 in the grammar");
    }
    for (int i = 1; i < length; ++i) {
      const uint8_t b = static_cast<uint8_t>(Peek(i));
      if (pos_ + i >= text_.size() || (b & 0xC0) != 0x80) {
        Fail(start, "invalid UTF-8 in the grammar");
      }
      value = (value << 6) | (b & 0x3F);
    }
    const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < smallest[length] || value > 0x10FFFF ||
        (value >= 0xD800 && value <= 0xDFFF)) {
      Fail(start, "invalid UTF-8 in the grammar");
    }
    pos_ += length;
    return value;
  }

  uint32_t ParseHex(size_t start, int digits) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const int v = HexValue(Peek());
      if (v < 0) {
        Fail(start, StrCat("expecting ", digits, " hex digits after ",
                           text_.substr(start, 2), ", found ", Found(pos_)));
      }
      value = (value << 4) | static_cast<uint32_t>(v);
      ++pos_;
    }
    return value;
  }

  uint32_t RuleId(std::string_view name, size_t offset) {
    auto [it, inserted] = ids_.try_emplace(
        std::string(name), static_cast<uint32_t>(names_.size()));
    if (inserted) {
      AddRule(std::string(name));
      first_use_.push_back(offset);
    }
    return it->second;
  }

  // A rule for a group or a repetition inside `base`, outside the table of
  // names a grammar may reference, named "base--<id>" so that ToGbnf's
  // output parses again.
  uint32_t NewRule(std::string_view base, size_t offset) {
    const uint32_t id = static_cast<uint32_t>(names_.size());
    AddRule(StrCat(base, "--", id));
    first_use_.push_back(offset);
    defined_.back() = offset;
    return id;
  }

  void AddRule(std::string name) {
    if (names_.size() >= kMaxRules) {
      Fail(pos_,
           StrCat("the grammar expands to more than ", kMaxRules, " rules"));
    }
    names_.push_back(std::move(name));
    rules_.emplace_back();
    defined_.push_back(std::nullopt);
  }

  void CountElements(size_t added, size_t offset) {
    elements_ += added;
    if (elements_ > kMaxElements) {
      Fail(offset, StrCat("the grammar expands to more than ", kMaxElements,
                          " elements (are repetitions too large?)"));
    }
  }

  uint32_t CharSetId(CharSet set) {
    std::string key(set.negated ? "^" : "");
    for (const auto& [first, last] : set.ranges) {
      absl::StrAppend(&key, first, "-", last, ",");
    }
    auto [it, inserted] = char_set_ids_.try_emplace(
        key, static_cast<uint32_t>(grammar_.char_sets.size()));
    if (inserted) grammar_.char_sets.push_back(std::move(set));
    return it->second;
  }

  Element SingleChar(uint32_t c) {
    CharSet set;
    set.ranges.push_back({c, c});
    return {Op::kChars, CharSetId(std::move(set))};
  }

  void ParseRules() {
    SkipSpace(true);
    while (!AtEnd()) ParseRule();
  }

  void ParseRule() {
    const size_t start = pos_;
    const std::string name(ParseName());
    SkipSpace(false);
    if (text_.substr(pos_, 3) != "::=") {
      Fail(pos_, StrCat("expecting '::=' after the rule name '", name,
                        "', found ", Found(pos_)));
    }
    pos_ += 3;
    SkipSpace(true);
    const uint32_t id = RuleId(name, start);
    if (defined_[id].has_value()) {
      Fail(start, StrCat("rule '", name, "' is defined twice (first at ",
                         Where(*defined_[id]), ")"));
    }
    defined_[id] = start;
    Alternatives alts = ParseAlternates(name, /*nested=*/false, 0);
    rules_[id] = std::move(alts);
    if (Peek() == '\r') {
      pos_ += Peek(1) == '\n' ? 2 : 1;
    } else if (Peek() == '\n') {
      ++pos_;
    } else if (!AtEnd()) {
      Fail(pos_, StrCat("expecting the end of rule '", name,
                        "' (a line break), found ", Found(pos_)));
    }
    SkipSpace(true);
  }

  Alternatives ParseAlternates(std::string_view rule, bool nested, int depth) {
    Alternatives alts;
    alts.push_back(ParseSequence(rule, nested, depth));
    while (Peek() == '|') {
      ++pos_;
      SkipSpace(true);
      alts.push_back(ParseSequence(rule, nested, depth));
    }
    return alts;
  }

  std::vector<Element> ParseSequence(std::string_view rule, bool nested,
                                     int depth) {
    std::vector<Element> seq;
    // Where the last item (what a repetition applies to) starts in `seq`;
    // nullopt before the first item.
    std::optional<size_t> last;
    while (!AtEnd()) {
      const size_t start = pos_;
      const char c = Peek();
      if (c == '"') {
        ++pos_;
        last = seq.size();
        while (Peek() != '"') {
          if (AtEnd()) {
            Fail(start, "the string literal is not closed (no '\"')");
          }
          seq.push_back(SingleChar(ParseChar()));
        }
        ++pos_;
        CountElements(seq.size() - *last, start);
      } else if (c == '[') {
        ++pos_;
        last = seq.size();
        seq.push_back({Op::kChars, CharSetId(ParseClass(start))});
        CountElements(1, start);
      } else if (c == '<' || c == '!') {
        last = seq.size();
        seq.push_back(ParseToken());
        CountElements(1, start);
      } else if (IsNameChar(c)) {
        const std::string_view name = ParseName();
        last = seq.size();
        seq.push_back({Op::kRule, RuleId(name, start)});
        CountElements(1, start);
      } else if (c == '(') {
        if (depth + 1 > kMaxNesting) {
          Fail(start, StrCat("parentheses nested deeper than ", kMaxNesting,
                             " are refused"));
        }
        ++pos_;
        SkipSpace(true);
        const uint32_t id = NewRule(rule, start);
        Alternatives alts = ParseAlternates(rule, /*nested=*/true, depth + 1);
        if (Peek() != ')') {
          Fail(pos_, StrCat("expecting ')' to close the '(' at ", Where(start),
                            ", found ", Found(pos_)));
        }
        ++pos_;
        rules_[id] = std::move(alts);
        last = seq.size();
        seq.push_back({Op::kRule, id});
        CountElements(1, start);
      } else if (c == '.') {
        ++pos_;
        last = seq.size();
        seq.push_back({Op::kChars, CharSetId({.negated = true, .ranges = {}})});
        CountElements(1, start);
      } else if (c == '*' || c == '+' || c == '?') {
        ++pos_;
        SkipSpace(nested);
        const uint32_t min = c == '+' ? 1 : 0;
        const int64_t max = c == '?' ? 1 : kUnbounded;
        Repeat(rule, seq, last, min, max, start);
        continue;
      } else if (c == '{') {
        ++pos_;
        SkipSpace(nested);
        const uint32_t min = ParseCount();
        SkipSpace(nested);
        int64_t max = min;
        if (Peek() == ',') {
          ++pos_;
          SkipSpace(nested);
          max = kUnbounded;
          if (IsDigit(Peek())) max = ParseCount();
          SkipSpace(nested);
        }
        if (Peek() != '}') {
          Fail(pos_, StrCat("expecting ',' or '}' in the repetition "
                            "opened at ",
                            Where(start), ", found ", Found(pos_)));
        }
        ++pos_;
        SkipSpace(nested);
        if (max != kUnbounded && max < min) {
          Fail(start,
               StrCat("in {", min, ",", max, "} the most is below the least"));
        }
        Repeat(rule, seq, last, min, max, start);
        continue;
      } else {
        break;
      }
      SkipSpace(nested);
    }
    return seq;
  }

  CharSet ParseClass(size_t start) {
    CharSet set;
    if (Peek() == '^') {
      set.negated = true;
      ++pos_;
    }
    while (Peek() != ']') {
      if (AtEnd()) Fail(start, "the character class is not closed (no ']')");
      const size_t at = pos_;
      const uint32_t first = ParseChar();
      uint32_t last = first;
      if (Peek() == '-' && Peek(1) != ']' && pos_ + 1 < text_.size()) {
        ++pos_;
        last = ParseChar();
        if (last < first) {
          Fail(at,
               absl::StrFormat("the character range U+%04X-U+%04X is reversed",
                               first, last));
        }
      }
      set.ranges.push_back({first, last});
    }
    ++pos_;
    if (set.ranges.empty()) {
      Fail(start, "an empty character class matches nothing");
    }
    // Sorted and merged, so matching is a binary search.
    std::sort(set.ranges.begin(), set.ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : set.ranges) {
      if (!merged.empty() && r.first <= merged.back().second + 1 &&
          merged.back().second != UINT32_MAX) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    set.ranges = std::move(merged);
    return set;
  }

  // `<[123]>`, `<text>`, or either after `!`.
  Element ParseToken() {
    const size_t start = pos_;
    bool negated = false;
    if (Peek() == '!') {
      negated = true;
      ++pos_;
      if (Peek() != '<') {
        Fail(pos_, StrCat("expecting '<' after '!', found ", Found(pos_)));
      }
    }
    const size_t open = pos_;
    ++pos_;  // '<'
    TokenRef ref;
    if (Peek() == '[') {
      ++pos_;
      if (!IsDigit(Peek())) {
        Fail(pos_,
             StrCat("expecting a token id after '<[', found ", Found(pos_)));
      }
      int64_t id = 0;
      while (IsDigit(Peek())) {
        id = id * 10 + (Peek() - '0');
        if (id > INT32_MAX) Fail(open, "the token id is too large");
        ++pos_;
      }
      if (Peek() != ']' || Peek(1) != '>') {
        Fail(pos_,
             StrCat("expecting ']>' to end the token id, found ", Found(pos_)));
      }
      pos_ += 2;
      ref.id = id;
    } else {
      while (!AtEnd() && Peek() != '>' && Peek() != '\n' && Peek() != '\r') {
        ++pos_;
      }
      if (Peek() != '>') {
        Fail(start, "the token is not closed (no '>' on its line)");
      }
      ++pos_;
      ref.text = std::string(text_.substr(open, pos_ - open));
    }
    grammar_.token_refs.push_back(std::move(ref));
    return {negated ? Op::kNotToken : Op::kToken,
            static_cast<uint32_t>(grammar_.token_refs.size() - 1)};
  }

  // Rewrites the last item S of `seq` as llama.cpp does: S{m,n} becomes m
  // copies of S and then n-m nested optional rules (S' ::= S S'' |),
  // S{m,} m copies and a rule S' ::= S S' |.
  void Repeat(std::string_view rule, std::vector<Element>& seq,
              std::optional<size_t> last, uint32_t min, int64_t max,
              size_t offset) {
    if (!last.has_value() || *last == seq.size()) {
      Fail(offset, StrCat("'", text_.substr(offset, 1),
                          "' has nothing before it to repeat"));
    }
    const std::vector<Element> item(seq.begin() + *last, seq.end());
    if (min == 0) {
      seq.resize(*last);
    } else {
      CountElements(item.size() * (min - 1), offset);
      for (uint32_t i = 1; i < min; ++i) {
        seq.insert(seq.end(), item.begin(), item.end());
      }
    }
    const uint32_t optional =
        max == kUnbounded ? 1 : static_cast<uint32_t>(max - min);
    uint32_t previous = 0;
    for (uint32_t i = 0; i < optional; ++i) {
      const uint32_t id = NewRule(rule, offset);
      std::vector<Element> alt = item;
      if (max == kUnbounded) {
        alt.push_back({Op::kRule, id});
      } else if (i > 0) {
        alt.push_back({Op::kRule, previous});
      }
      CountElements(alt.size(), offset);
      rules_[id] = Alternatives{std::move(alt), {}};
      previous = id;
    }
    if (optional > 0) {
      seq.push_back({Op::kRule, previous});
      CountElements(1, offset);
    }
  }

  absl::StatusOr<Grammar> Finish() {
    for (uint32_t id = 0; id < names_.size(); ++id) {
      if (!defined_[id].has_value()) {
        Fail(first_use_[id],
             StrCat("rule '", names_[id], "' is used but not defined"));
      }
    }
    auto root = ids_.find("root");
    if (root == ids_.end()) {
      return absl::InvalidArgumentError(
          "the grammar has no 'root' rule (generation starts at root)");
    }
    grammar_.root = root->second;
    RETURN_IF_ERROR(CheckLeftRecursion(rules_, names_));
    RETURN_IF_ERROR(DropEndlessAlternatives(rules_, names_, grammar_.root));
    std::vector<Element>& elements = grammar_.elements;
    grammar_.rules.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      Rule& out = grammar_.rules[r];
      out.name = std::move(names_[r]);
      for (const std::vector<Element>& alt : rules_[r]) {
        out.alternatives.push_back(static_cast<uint32_t>(elements.size()));
        elements.insert(elements.end(), alt.begin(), alt.end());
        elements.push_back({Op::kEnd, 0});
      }
    }
    grammar_.source = std::string(text_);
    return std::move(grammar_);
  }

  std::string_view text_;
  size_t pos_ = 0;
  Grammar grammar_;
  // Rules by id, as the parser builds them.
  std::vector<Alternatives> rules_;
  std::vector<std::string> names_;
  std::vector<std::optional<size_t>> defined_;  // offset of the definition
  std::vector<size_t> first_use_;
  absl::flat_hash_map<std::string, uint32_t> ids_;  // names the text uses
  absl::flat_hash_map<std::string, uint32_t> char_set_ids_;
  size_t elements_ = 0;
};

}  // namespace

absl::StatusOr<Grammar> ParseGbnf(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(StrCat("the grammar has ", text.size(),
                                             " bytes; at most ", max_bytes,
                                             " are accepted"));
  }
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("the grammar holds a NUL byte at offset ", nul));
  }
  return Parser(text).Run();
}

}  // namespace ggufd::grammar
