// IntegerRange checked exhaustively: for many bounds, every integer string
// in a window (and spellings JSON forbids) is matched exactly when it is a
// canonical integer within the bounds. Uses a small backtracking matcher
// over the expression tree, independent of the GBNF text.
#include "runtime/grammar/schema/integer_range.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ggufd::grammar::schema {
namespace {

// End positions of the matches of `e` that start at `pos`.
std::set<size_t> Ends(const Expr& e, const std::u32string& s, size_t pos) {
  std::set<size_t> out;
  switch (e.kind) {
    case Expr::Kind::kNothing:
      break;
    case Expr::Kind::kEmpty:
      out.insert(pos);
      break;
    case Expr::Kind::kLiteral:
      if (s.compare(pos, e.text.size(), e.text) == 0)
        out.insert(pos + e.text.size());
      break;
    case Expr::Kind::kClass:
      if (pos < s.size() && e.set.Contains(s[pos])) out.insert(pos + 1);
      break;
    case Expr::Kind::kRef:
      ADD_FAILURE() << "integer ranges use no rules";
      break;
    case Expr::Kind::kSeq: {
      std::set<size_t> at = {pos};
      for (const Expr& item : e.items) {
        std::set<size_t> next;
        for (size_t p : at) next.merge(Ends(item, s, p));
        at = std::move(next);
      }
      out = std::move(at);
      break;
    }
    case Expr::Kind::kAlt:
      for (const Expr& item : e.items) out.merge(Ends(item, s, pos));
      break;
    case Expr::Kind::kRepeat: {
      std::set<size_t> at = {pos};
      for (int64_t n = 0; !at.empty(); ++n) {
        if (n >= e.min) out.insert(at.begin(), at.end());
        if (e.max != kUnbounded && n == e.max) break;
        std::set<size_t> next;
        for (size_t p : at) {
          for (size_t q : Ends(e.items[0], s, p)) {
            if (q > p) next.insert(q);
          }
        }
        at = std::move(next);
      }
      break;
    }
  }
  return out;
}

bool Matches(const Expr& e, const std::string& text) {
  std::u32string s(text.begin(), text.end());
  return Ends(e, s, 0).contains(s.size());
}

TEST(IntegerRange, MatchesExactlyTheCanonicalIntegersInRange) {
  const std::vector<std::optional<int64_t>> bounds = {
      std::nullopt, -1000, -999, -101, -100, -99, -10,
      -9,           -1,    0,    1,    5,    9,   10,
      11,           19,    20,   99,   100,  101, 109,
      110,          199,   200,  555,  999,  1000};
  for (const auto& lo : bounds) {
    for (const auto& hi : bounds) {
      if (lo && hi && *lo > *hi) {
        EXPECT_TRUE(IntegerRange(lo, hi).is_nothing());
        continue;
      }
      Expr e = IntegerRange(lo, hi);
      for (int64_t v = -1200; v <= 1200; ++v) {
        bool in = (!lo || v >= *lo) && (!hi || v <= *hi);
        ASSERT_EQ(Matches(e, std::to_string(v)), in)
            << v << " in [" << (lo ? std::to_string(*lo) : "-inf") << ", "
            << (hi ? std::to_string(*hi) : "inf") << "]";
      }
      // Spellings JSON forbids are never matched.
      for (const char* bad : {"-0", "00", "01", "+1", "", "-", "1.0", "0x1"}) {
        EXPECT_FALSE(Matches(e, bad)) << bad;
      }
    }
  }
}

TEST(IntegerRange, OpenSidesAllowSixteenDigits) {
  Expr from_zero = IntegerRange(0, std::nullopt);
  EXPECT_TRUE(Matches(from_zero, "9999999999999999"));
  EXPECT_FALSE(Matches(from_zero, "10000000000000000"));
  Expr below = IntegerRange(std::nullopt, 0);
  EXPECT_TRUE(Matches(below, "-9999999999999999"));
  EXPECT_FALSE(Matches(below, "-10000000000000000"));
}

TEST(IntegerRange, Int64Extremes) {
  Expr all = IntegerRange(INT64_MIN, INT64_MAX);
  EXPECT_TRUE(Matches(all, "-9223372036854775808"));
  EXPECT_TRUE(Matches(all, "9223372036854775807"));
  EXPECT_FALSE(Matches(all, "9223372036854775808"));
  EXPECT_FALSE(Matches(all, "-9223372036854775809"));
  EXPECT_TRUE(Matches(all, "0"));
}

}  // namespace
}  // namespace ggufd::grammar::schema
