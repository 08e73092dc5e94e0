#include "runtime/grammar/schema/json_string_chars.h"

#include <utility>
#include <vector>

namespace ggufd::grammar::schema {

CodepointSet JsonRawChars() {
  CodepointSet raw = CodepointSet::Of(0x20, kMaxCodepoint);
  CodepointSet excluded;
  excluded.Add('"');
  excluded.Add('\\');
  excluded.Add(0x7F);
  return raw.Minus(excluded);
}

namespace {

char HexDigit(int v, bool upper) {
  if (v < 10) return static_cast<char>('0' + v);
  return static_cast<char>((upper ? 'A' : 'a') + v - 10);
}

CodepointSet Chars(std::u32string_view chars) {
  CodepointSet set;
  for (char32_t c : chars) set.Add(c);
  return set;
}

Expr HexClass() { return Class(Chars(U"0123456789abcdefABCDEF")); }

}  // namespace

Expr JsonEncodedChar(const CodepointSet& set) {
  std::vector<Expr> alts;
  alts.push_back(Class(set.Intersect(JsonRawChars())));
  if (set.Contains('"')) alts.push_back(Literal(U"\\\""));
  if (set.Contains('\\')) alts.push_back(Literal(U"\\\\"));
  static constexpr std::pair<char32_t, char32_t> kShort[] = {
      {0x08, 'b'}, {0x0C, 'f'}, {0x0A, 'n'}, {0x0D, 'r'}, {0x09, 't'}};
  for (const auto& [c, letter] : kShort) {
    if (set.Contains(c)) alts.push_back(Literal(std::u32string{'\\', letter}));
  }
  // \u00XX for control characters and DEL, either hex case.
  for (int high : {0x00, 0x10, 0x70}) {
    CodepointSet low_digits;
    for (int low = 0; low < 16; ++low) {
      int c = high + low;
      bool escaped_only = c < 0x20 || c == 0x7F;
      if (!escaped_only || !set.Contains(static_cast<char32_t>(c))) continue;
      low_digits.Add(static_cast<char32_t>(HexDigit(low, false)));
      low_digits.Add(static_cast<char32_t>(HexDigit(low, true)));
    }
    if (low_digits.empty()) continue;
    std::u32string prefix = U"\\u00";
    prefix.push_back(static_cast<char32_t>(HexDigit(high >> 4, false)));
    alts.push_back(Seq({Literal(prefix), Class(low_digits)}));
  }
  return Alt(std::move(alts));
}

Expr JsonEncodedText(const std::u32string& text) {
  std::vector<Expr> items;
  items.reserve(text.size());
  for (char32_t c : text)
    items.push_back(JsonEncodedChar(CodepointSet::Single(c)));
  return Seq(std::move(items));
}

Expr JsonStringCharRule() {
  CodepointSet raw = CodepointSet::All();
  raw = raw.Minus(Chars(U"\"\\\x7F"));
  raw = raw.Minus(CodepointSet::Of(0x00, 0x1F));
  Expr hex = HexClass();
  Expr bmp_non_surrogate = Alt({
      Seq({Class(Chars(U"0123456789abcefABCEF")), Repeat(hex, 3, 3)}),
      Seq({Class(Chars(U"dD")), Class(Chars(U"01234567")), Repeat(hex, 2, 2)}),
  });
  Expr surrogate_pair =
      Seq({Class(Chars(U"dD")), Class(Chars(U"89abAB")), Repeat(hex, 2, 2),
           Literal(U"\\u"), Class(Chars(U"dD")), Class(Chars(U"cdefCDEF")),
           Repeat(hex, 2, 2)});
  Expr escape =
      Alt({Class(Chars(U"\"\\bfnrt")),
           Seq({Literal(U"u"), Alt({bmp_non_surrogate, surrogate_pair})})});
  return Alt({Class(raw), Seq({Literal(U"\\"), escape})});
}

}  // namespace ggufd::grammar::schema
