#include "runtime/grammar/schema/regex_parser.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/gbnf_expr.h"
#include "runtime/grammar/schema/schema_limits.h"

namespace ggufd::grammar::schema {
namespace {

CodepointSet DigitSet() { return CodepointSet::Of('0', '9'); }

CodepointSet WordSet() {
  CodepointSet set = DigitSet();
  set.Add('A', 'Z');
  set.Add('a', 'z');
  set.Add('_');
  return set;
}

// ECMAScript WhiteSpace and LineTerminator.
CodepointSet SpaceSet() {
  CodepointSet set;
  set.Add('\t', '\r');  // \t \n \v \f \r
  set.Add(' ');
  set.Add(0xA0);
  set.Add(0x1680);
  set.Add(0x2000, 0x200A);
  set.Add(0x2028, 0x2029);
  set.Add(0x202F);
  set.Add(0x205F);
  set.Add(0x3000);
  set.Add(0xFEFF);
  return set;
}

int HexValue(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

RegexNode SetNode(CodepointSet set) {
  RegexNode node;
  node.kind = RegexNode::Kind::kSet;
  node.set = std::move(set);
  return node;
}

class Parser {
 public:
  explicit Parser(std::u32string text) : s_(std::move(text)) {}

  absl::StatusOr<RegexNode> Parse() {
    absl::StatusOr<RegexNode> node = ParseAlternation(0);
    if (!node.ok()) return node;
    if (pos_ < s_.size()) return Error("unmatched ')'");
    return node;
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char32_t Peek(size_t ahead = 0) const {
    return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : 0;
  }

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(what), " at character ", pos_, " of the pattern"));
  }

  absl::StatusOr<RegexNode> ParseAlternation(int depth) {
    if (depth > kMaxRegexDepth) {
      return Error(absl::StrCat("groups nested deeper than ", kMaxRegexDepth));
    }
    RegexNode alt;
    alt.kind = RegexNode::Kind::kAlt;
    while (true) {
      absl::StatusOr<RegexNode> seq = ParseSequence(depth);
      if (!seq.ok()) return seq;
      alt.items.push_back(*std::move(seq));
      if (AtEnd() || Peek() != '|') break;
      ++pos_;
    }
    if (alt.items.size() == 1) return std::move(alt.items[0]);
    return alt;
  }

  absl::StatusOr<RegexNode> ParseSequence(int depth) {
    RegexNode seq;
    seq.kind = RegexNode::Kind::kSeq;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      absl::StatusOr<RegexNode> atom = ParseAtom(depth);
      if (!atom.ok()) return atom;
      absl::StatusOr<RegexNode> quantified = ParseQuantifier(*std::move(atom));
      if (!quantified.ok()) return quantified;
      seq.items.push_back(*std::move(quantified));
    }
    if (seq.items.size() == 1) return std::move(seq.items[0]);
    if (seq.items.empty()) return RegexNode{};
    return seq;
  }

  // Reads `{m}`, `{m,}` or `{m,n}` at pos_ without consuming it on failure.
  bool ReadBraceQuantifier(int64_t* min, int64_t* max, size_t* end) const {
    size_t i = pos_ + 1;
    auto read_number = [&](int64_t* out) {
      size_t begin = i;
      int64_t v = 0;
      while (i < s_.size() && s_[i] >= '0' && s_[i] <= '9') {
        v = std::min<int64_t>(v * 10 + (s_[i] - '0'), INT64_MAX / 16);
        ++i;
      }
      *out = v;
      return i > begin;
    };
    if (!read_number(min)) return false;
    if (i < s_.size() && s_[i] == '}') {
      *max = *min;
    } else if (i < s_.size() && s_[i] == ',') {
      ++i;
      if (i < s_.size() && s_[i] == '}') {
        *max = -1;
      } else if (!read_number(max) || i >= s_.size() || s_[i] != '}') {
        return false;
      }
    } else {
      return false;
    }
    *end = i + 1;
    return true;
  }

  absl::StatusOr<RegexNode> ParseQuantifier(RegexNode atom) {
    if (AtEnd()) return atom;
    int64_t min = 0, max = -1;
    size_t end = pos_ + 1;
    char32_t c = Peek();
    if (c == '*') {
      min = 0;
      max = -1;
    } else if (c == '+') {
      min = 1;
      max = -1;
    } else if (c == '?') {
      min = 0;
      max = 1;
    } else if (c != '{' || !ReadBraceQuantifier(&min, &max, &end)) {
      return atom;
    }
    if (atom.kind == RegexNode::Kind::kStart ||
        atom.kind == RegexNode::Kind::kEnd) {
      return Error("quantifier after an anchor");
    }
    if (max != -1 && max < min) {
      return Error("quantifier {m,n} with n < m");
    }
    if (min > kMaxRepetition || max > kMaxRepetition) {
      return Error(
          absl::StrCat("repetition count above the limit of ", kMaxRepetition));
    }
    pos_ = end;
    // A lazy quantifier matches the same strings as a greedy one.
    if (!AtEnd() && Peek() == '?') ++pos_;
    int64_t next_min, next_max;
    size_t next_end;
    if (!AtEnd() && (Peek() == '*' || Peek() == '+' || Peek() == '?' ||
                     (Peek() == '{' &&
                      ReadBraceQuantifier(&next_min, &next_max, &next_end)))) {
      return Error("nothing to repeat (a quantifier after a quantifier)");
    }
    RegexNode repeat;
    repeat.kind = RegexNode::Kind::kRepeat;
    repeat.items.push_back(std::move(atom));
    repeat.min = min;
    repeat.max = max;
    return repeat;
  }

  absl::StatusOr<RegexNode> ParseAtom(int depth) {
    char32_t c = Peek();
    switch (c) {
      case '^':
        ++pos_;
        return RegexNode{.kind = RegexNode::Kind::kStart};
      case '$':
        ++pos_;
        return RegexNode{.kind = RegexNode::Kind::kEnd};
      case '.':
        ++pos_;
        return SetNode(EcmaDotSet());
      case '(':
        return ParseGroup(depth);
      case '[':
        return ParseClass();
      case '\\':
        return ParseAtomEscape();
      case '*':
      case '+':
      case '?':
        return Error("nothing to repeat");
      case '{': {
        int64_t min, max;
        size_t end;
        if (ReadBraceQuantifier(&min, &max, &end)) {
          return Error("nothing to repeat");
        }
        ++pos_;
        return SetNode(CodepointSet::Single(c));
      }
      default:
        ++pos_;
        return SetNode(CodepointSet::Single(c));
    }
  }

  absl::StatusOr<RegexNode> ParseGroup(int depth) {
    ++pos_;  // (
    if (Peek() == '?') {
      char32_t kind = Peek(1);
      if (kind == ':') {
        pos_ += 2;
      } else if (kind == '=' || kind == '!') {
        return Error("lookahead (?= / (?! is not supported");
      } else if (kind == '<' && (Peek(2) == '=' || Peek(2) == '!')) {
        return Error("lookbehind (?<= / (?<! is not supported");
      } else if (kind == '<') {
        // Named capturing group: the name does not change what matches.
        size_t close = s_.find('>', pos_ + 2);
        if (close == std::u32string::npos || close == pos_ + 2) {
          return Error("malformed group name");
        }
        pos_ = close + 1;
      } else {
        return Error("unsupported group syntax (?");
      }
    }
    absl::StatusOr<RegexNode> inner = ParseAlternation(depth + 1);
    if (!inner.ok()) return inner;
    if (AtEnd() || Peek() != ')') return Error("missing ')'");
    ++pos_;
    return inner;
  }

  // \d \w \s and their negations; false if `c` is not one.
  static bool ClassEscape(char32_t c, CodepointSet* set) {
    switch (c) {
      case 'd':
        *set = DigitSet();
        return true;
      case 'D':
        *set = DigitSet().Complement();
        return true;
      case 'w':
        *set = WordSet();
        return true;
      case 'W':
        *set = WordSet().Complement();
        return true;
      case 's':
        *set = SpaceSet();
        return true;
      case 'S':
        *set = SpaceSet().Complement();
        return true;
      default:
        return false;
    }
  }

  // A character escape after the backslash at pos_ (\n, \xHH, \uHHHH, ...),
  // `in_class` deciding what \b means. Leaves pos_ after the escape.
  absl::StatusOr<char32_t> CharacterEscape(bool in_class) {
    char32_t c = Peek(1);
    switch (c) {
      case 'n':
        pos_ += 2;
        return U'\n';
      case 'r':
        pos_ += 2;
        return U'\r';
      case 't':
        pos_ += 2;
        return U'\t';
      case 'f':
        pos_ += 2;
        return U'\f';
      case 'v':
        pos_ += 2;
        return U'\v';
      case 'b':
        if (in_class) {
          pos_ += 2;
          return U'\b';
        }
        return Error("word-boundary assertion \\b is not supported");
      case 'B':
        return Error("word-boundary assertion \\B is not supported");
      case '0':
        if (Peek(2) >= '0' && Peek(2) <= '9') {
          return Error("octal escape is not supported");
        }
        pos_ += 2;
        return U'\0';
      case 'c': {
        char32_t letter = Peek(2);
        if (!((letter >= 'a' && letter <= 'z') ||
              (letter >= 'A' && letter <= 'Z'))) {
          return Error("\\c must be followed by a letter");
        }
        pos_ += 3;
        return letter % 32;
      }
      case 'x': {
        int hi = HexValue(Peek(2)), lo = HexValue(Peek(3));
        if (hi < 0 || lo < 0) return Error("\\x needs two hex digits");
        pos_ += 4;
        return static_cast<char32_t>(hi * 16 + lo);
      }
      case 'u':
        return UnicodeEscape();
      case 'p':
      case 'P':
        return Error("Unicode property escapes \\p{...} are not supported");
      case 'k':
        return Error("backreference \\k<name> is not supported");
      default:
        break;
    }
    if (c >= '1' && c <= '9') {
      return Error("backreference \\1..\\9 is not supported");
    }
    if (c == 0 && pos_ + 1 >= s_.size()) return Error("pattern ends with '\\'");
    // Letters and digits have meanings of their own (or none): refuse the
    // ones not handled above rather than guess; any other character escapes
    // to itself.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      return Error(absl::StrCat("unsupported escape \\",
                                std::string(1, static_cast<char>(c))));
    }
    pos_ += 2;
    return c;
  }

  absl::StatusOr<char32_t> UnicodeEscape() {
    if (Peek(2) == '{') {
      size_t i = pos_ + 3;
      uint32_t v = 0;
      while (i < s_.size() && HexValue(s_[i]) >= 0 && v <= kMaxCodepoint) {
        v = v * 16 + static_cast<uint32_t>(HexValue(s_[i]));
        ++i;
      }
      if (i == pos_ + 3 || i >= s_.size() || s_[i] != '}' ||
          v > kMaxCodepoint) {
        return Error("malformed \\u{...} escape");
      }
      pos_ = i + 1;
      return static_cast<char32_t>(v);
    }
    auto read4 = [&](size_t at, uint32_t* out) {
      uint32_t v = 0;
      for (size_t k = 0; k < 4; ++k) {
        int d = at + k < s_.size() ? HexValue(s_[at + k]) : -1;
        if (d < 0) return false;
        v = v * 16 + static_cast<uint32_t>(d);
      }
      *out = v;
      return true;
    };
    uint32_t v;
    if (!read4(pos_ + 2, &v)) return Error("\\u needs four hex digits");
    pos_ += 6;
    // A surrogate pair written as two escapes is one character.
    uint32_t low;
    if (v >= 0xD800 && v <= 0xDBFF && Peek() == '\\' && Peek(1) == 'u' &&
        read4(pos_ + 2, &low) && low >= 0xDC00 && low <= 0xDFFF) {
      pos_ += 6;
      return static_cast<char32_t>(0x10000 + ((v - 0xD800) << 10) +
                                   (low - 0xDC00));
    }
    return static_cast<char32_t>(v);
  }

  absl::StatusOr<RegexNode> ParseAtomEscape() {
    CodepointSet set;
    if (ClassEscape(Peek(1), &set)) {
      pos_ += 2;
      return SetNode(std::move(set));
    }
    absl::StatusOr<char32_t> c = CharacterEscape(/*in_class=*/false);
    if (!c.ok()) return c.status();
    return SetNode(CodepointSet::Single(*c));
  }

  // One class member at pos_: a character (returned in *single) or a class
  // escape set.
  absl::Status ParseClassAtom(CodepointSet* set, bool* is_single,
                              char32_t* single) {
    if (Peek() == '\\') {
      if (ClassEscape(Peek(1), set)) {
        pos_ += 2;
        *is_single = false;
        return absl::OkStatus();
      }
      if (Peek(1) == '-') {
        pos_ += 2;
        *is_single = true;
        *single = '-';
        return absl::OkStatus();
      }
      absl::StatusOr<char32_t> c = CharacterEscape(/*in_class=*/true);
      if (!c.ok()) return c.status();
      *is_single = true;
      *single = *c;
      return absl::OkStatus();
    }
    *is_single = true;
    *single = Peek();
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<RegexNode> ParseClass() {
    ++pos_;  // [
    bool negated = false;
    if (Peek() == '^') {
      negated = true;
      ++pos_;
    }
    CodepointSet set;
    while (true) {
      if (AtEnd()) return Error("missing ']'");
      if (Peek() == ']') {
        ++pos_;
        break;
      }
      CodepointSet first_set;
      bool first_single;
      char32_t first = 0;
      absl::Status status = ParseClassAtom(&first_set, &first_single, &first);
      if (!status.ok()) return status;
      if (Peek() == '-' && pos_ + 1 < s_.size() && Peek(1) != ']') {
        ++pos_;  // -
        CodepointSet second_set;
        bool second_single;
        char32_t second = 0;
        status = ParseClassAtom(&second_set, &second_single, &second);
        if (!status.ok()) return status;
        if (!first_single || !second_single) {
          return Error("class range with \\d, \\w or \\s as an end");
        }
        if (second < first) return Error("class range out of order");
        set.Add(first, second);
      } else if (first_single) {
        set.Add(first);
      } else {
        set.AddSet(first_set);
      }
    }
    return SetNode(negated ? set.Complement() : set);
  }

  std::u32string s_;
  size_t pos_ = 0;
};

}  // namespace

CodepointSet EcmaDotSet() {
  CodepointSet excluded;
  excluded.Add('\n');
  excluded.Add('\r');
  excluded.Add(0x2028, 0x2029);
  return excluded.Complement();
}

absl::StatusOr<RegexNode> ParseEcmaRegex(std::string_view pattern) {
  if (pattern.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("pattern of ", pattern.size(),
                     " bytes exceeds the limit of ", kMaxInputBytes));
  }
  return Parser(DecodeUtf8(pattern)).Parse();
}

}  // namespace ggufd::grammar::schema
