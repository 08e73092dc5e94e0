#include "runtime/grammar/schema/integer_range.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "runtime/grammar/schema/schema_limits.h"

namespace ggufd::grammar::schema {
namespace {

Expr Digits(char lo, char hi) { return Class(CodepointSet::Of(lo, hi)); }

Expr AnyDigits(size_t n) {
  return Repeat(Digits('0', '9'), static_cast<int64_t>(n),
                static_cast<int64_t>(n));
}

std::u32string Ascii(std::string_view s) { return {s.begin(), s.end()}; }

bool AllOf(std::string_view s, char c) {
  return std::all_of(s.begin(), s.end(), [c](char x) { return x == c; });
}

// Digit strings of length a.size() between a and b inclusive (a <= b, same
// length, leading zeros allowed: this works on suffixes).
Expr SameLength(std::string_view a, std::string_view b) {
  if (a.empty()) return Empty();
  size_t common = 0;
  while (common < a.size() && a[common] == b[common]) ++common;
  if (common == a.size()) return Literal(Ascii(a));
  if (common > 0) {
    return Seq({Literal(Ascii(a.substr(0, common))),
                SameLength(a.substr(common), b.substr(common))});
  }
  std::string_view a_rest = a.substr(1), b_rest = b.substr(1);
  if (a_rest.empty()) return Digits(a[0], b[0]);
  // a0 < b0: a0 followed by [a_rest, 99..], the digits strictly between
  // followed by anything, b0 followed by [00.., b_rest]; the ends fold into
  // the middle when their rest is unconstrained.
  bool low_open = AllOf(a_rest, '0');
  bool high_open = AllOf(b_rest, '9');
  char mid_lo = low_open ? a[0] : static_cast<char>(a[0] + 1);
  char mid_hi = high_open ? b[0] : static_cast<char>(b[0] - 1);
  std::vector<Expr> alts;
  if (!low_open) {
    alts.push_back(Seq({Literal(Ascii(a.substr(0, 1))),
                        SameLength(a_rest, std::string(a_rest.size(), '9'))}));
  }
  if (mid_lo <= mid_hi) {
    alts.push_back(Seq({Digits(mid_lo, mid_hi), AnyDigits(a_rest.size())}));
  }
  if (!high_open) {
    alts.push_back(Seq({Literal(Ascii(b.substr(0, 1))),
                        SameLength(std::string(b_rest.size(), '0'), b_rest)}));
  }
  return Alt(std::move(alts));
}

// Non-negative integers in [lo, hi]; `hi` empty means "up to max_digits
// digits".
Expr NonNegative(uint64_t lo, std::optional<uint64_t> hi, size_t max_digits) {
  std::string lo_s = std::to_string(lo);
  std::string hi_s = hi ? std::to_string(*hi) : std::string(max_digits, '9');
  if (hi && *hi < lo) return Nothing();
  std::vector<Expr> alts;
  for (size_t len = lo_s.size(); len <= hi_s.size(); ++len) {
    std::string a = len == lo_s.size() ? lo_s : "1" + std::string(len - 1, '0');
    std::string b = len == hi_s.size() ? hi_s : std::string(len, '9');
    if (!hi && len > lo_s.size()) {
      // Every longer length up to max_digits is unconstrained: one branch.
      alts.push_back(
          Seq({Digits('1', '9'),
               Repeat(Digits('0', '9'), static_cast<int64_t>(len - 1),
                      static_cast<int64_t>(max_digits - 1))}));
      break;
    }
    alts.push_back(SameLength(a, b));
  }
  return Alt(std::move(alts));
}

uint64_t Magnitude(int64_t v) {
  return v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
}

}  // namespace

Expr IntegerRange(std::optional<int64_t> min, std::optional<int64_t> max) {
  if (min && max && *min > *max) return Nothing();
  size_t digits = kUnboundedIntegerDigits;
  if (min) digits = std::max(digits, std::to_string(Magnitude(*min)).size());
  if (max) digits = std::max(digits, std::to_string(Magnitude(*max)).size());
  std::vector<Expr> alts;
  // Negative values: "-" and a magnitude in [max(1, -max), -min].
  if (!min || *min < 0) {
    uint64_t lo = max && *max < 0 ? Magnitude(*max) : 1;
    std::optional<uint64_t> hi;
    if (min) hi = Magnitude(*min);
    alts.push_back(Seq({Literal(U"-"), NonNegative(lo, hi, digits)}));
  }
  // Non-negative values in [max(0, min), max].
  if (!max || *max >= 0) {
    uint64_t lo = min && *min > 0 ? static_cast<uint64_t>(*min) : 0;
    std::optional<uint64_t> hi;
    if (max) hi = static_cast<uint64_t>(*max);
    alts.push_back(NonNegative(lo, hi, digits));
  }
  return Alt(std::move(alts));
}

}  // namespace ggufd::grammar::schema
