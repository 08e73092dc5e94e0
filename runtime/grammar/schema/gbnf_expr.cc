#include "runtime/grammar/schema/gbnf_expr.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ggufd::grammar::schema {
namespace {

bool IsAtomic(const Expr& e) {
  return e.kind == Expr::Kind::kLiteral || e.kind == Expr::Kind::kClass ||
         e.kind == Expr::Kind::kRef;
}

// A one-code-point expression's set, for merging `"a" | [bc]` into `[abc]`.
bool AsSingleCharSet(const Expr& e, CodepointSet* set) {
  if (e.kind == Expr::Kind::kClass) {
    *set = e.set;
    return true;
  }
  if (e.kind == Expr::Kind::kLiteral && e.text.size() == 1) {
    *set = CodepointSet::Single(e.text[0]);
    return true;
  }
  return false;
}

void AppendClass(const CodepointSet& set, std::string* out) {
  CodepointSet complement = set.Complement();
  // The shorter spelling; ties go to `[^...]`, which reads as "anything
  // but".
  bool negate =
      !complement.empty() && complement.ranges().size() <= set.ranges().size();
  const CodepointSet& shown = negate ? complement : set;
  out->push_back('[');
  if (negate) out->push_back('^');
  for (const auto& [lo, hi] : shown.ranges()) {
    AppendGbnfChar(lo, /*in_class=*/true, out);
    if (hi == lo) continue;
    if (hi != lo + 1) out->push_back('-');
    AppendGbnfChar(hi, /*in_class=*/true, out);
  }
  out->push_back(']');
}

void Print(const Expr& e, std::string* out);

void PrintAtom(const Expr& e, std::string* out) {
  if (IsAtomic(e)) {
    Print(e, out);
  } else {
    out->push_back('(');
    Print(e, out);
    out->push_back(')');
  }
}

void Print(const Expr& e, std::string* out) {
  switch (e.kind) {
    case Expr::Kind::kNothing:
      out->append("[]");
      return;
    case Expr::Kind::kEmpty:
      out->append("\"\"");
      return;
    case Expr::Kind::kLiteral:
      out->push_back('"');
      for (char32_t c : e.text) AppendGbnfChar(c, /*in_class=*/false, out);
      out->push_back('"');
      return;
    case Expr::Kind::kClass:
      AppendClass(e.set, out);
      return;
    case Expr::Kind::kRef:
      out->append(e.name);
      return;
    case Expr::Kind::kSeq:
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i > 0) out->push_back(' ');
        if (e.items[i].kind == Expr::Kind::kAlt) {
          PrintAtom(e.items[i], out);
        } else {
          Print(e.items[i], out);
        }
      }
      return;
    case Expr::Kind::kAlt:
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i > 0) out->append(" | ");
        Print(e.items[i], out);
      }
      return;
    case Expr::Kind::kRepeat:
      PrintAtom(e.items[0], out);
      if (e.min == 0 && e.max == 1) {
        out->push_back('?');
      } else if (e.min == 0 && e.max == kUnbounded) {
        out->push_back('*');
      } else if (e.min == 1 && e.max == kUnbounded) {
        out->push_back('+');
      } else if (e.min == e.max) {
        absl::StrAppend(out, "{", e.min, "}");
      } else if (e.max == kUnbounded) {
        absl::StrAppend(out, "{", e.min, ",}");
      } else {
        absl::StrAppend(out, "{", e.min, ",", e.max, "}");
      }
      return;
  }
}

}  // namespace

Expr Nothing() { return Expr{}; }

Expr Empty() {
  Expr e;
  e.kind = Expr::Kind::kEmpty;
  return e;
}

Expr Literal(std::u32string text) {
  if (text.empty()) return Empty();
  Expr e;
  e.kind = Expr::Kind::kLiteral;
  e.text = std::move(text);
  return e;
}

Expr LiteralUtf8(std::string_view utf8) { return Literal(DecodeUtf8(utf8)); }

Expr Class(CodepointSet set) {
  if (set.empty()) return Nothing();
  if (set.IsSingle()) return Literal(std::u32string(1, set.ranges()[0].first));
  Expr e;
  e.kind = Expr::Kind::kClass;
  e.set = std::move(set);
  return e;
}

Expr Ref(std::string name) {
  Expr e;
  e.kind = Expr::Kind::kRef;
  e.name = std::move(name);
  return e;
}

Expr Seq(std::vector<Expr> items) {
  std::vector<Expr> flat;
  for (Expr& item : items) {
    if (item.is_nothing()) return Nothing();
    if (item.is_empty()) continue;
    if (item.kind == Expr::Kind::kSeq) {
      for (Expr& sub : item.items) flat.push_back(std::move(sub));
    } else {
      flat.push_back(std::move(item));
    }
  }
  // Adjacent literals print as one string.
  std::vector<Expr> merged;
  for (Expr& item : flat) {
    if (item.kind == Expr::Kind::kLiteral && !merged.empty() &&
        merged.back().kind == Expr::Kind::kLiteral) {
      merged.back().text += item.text;
    } else {
      merged.push_back(std::move(item));
    }
  }
  if (merged.empty()) return Empty();
  if (merged.size() == 1) return std::move(merged[0]);
  Expr e;
  e.kind = Expr::Kind::kSeq;
  e.items = std::move(merged);
  return e;
}

Expr Alt(std::vector<Expr> items) {
  std::vector<Expr> flat;
  bool has_empty = false;
  for (Expr& item : items) {
    if (item.is_nothing()) continue;
    if (item.is_empty()) {
      has_empty = true;
      continue;
    }
    std::vector<Expr> subs;
    if (item.kind == Expr::Kind::kAlt) {
      subs = std::move(item.items);
    } else {
      subs.push_back(std::move(item));
    }
    for (Expr& sub : subs) {
      // Duplicates only cost text; past a few dozen alternatives (a long
      // enum) the quadratic search for them would cost more.
      bool seen = false;
      if (flat.size() < 64) {
        for (const Expr& f : flat) seen = seen || f == sub;
      }
      if (!seen) flat.push_back(std::move(sub));
    }
  }
  // Alternatives that are all single characters are one class.
  if (flat.size() > 1) {
    CodepointSet all;
    bool all_chars = true;
    for (const Expr& item : flat) {
      CodepointSet set;
      if (!AsSingleCharSet(item, &set)) {
        all_chars = false;
        break;
      }
      all.AddSet(set);
    }
    if (all_chars) {
      flat.clear();
      flat.push_back(Class(std::move(all)));
    }
  }
  Expr result;
  if (flat.size() == 1) {
    result = std::move(flat[0]);
  } else if (!flat.empty()) {
    result.kind = Expr::Kind::kAlt;
    result.items = std::move(flat);
  } else {
    return has_empty ? Empty() : Nothing();
  }
  return has_empty ? Optional(std::move(result)) : result;
}

Expr Repeat(Expr item, int64_t min, int64_t max) {
  if (max != kUnbounded && max < min) return Nothing();
  if (max == 0) return Empty();
  if (item.is_nothing()) return min == 0 ? Empty() : Nothing();
  if (item.is_empty()) return Empty();
  if (min == 1 && max == 1) return item;
  // (x?)? and (x{0,n})? are the inner repetition.
  if (min == 0 && max == 1 && item.kind == Expr::Kind::kRepeat &&
      item.min == 0) {
    return item;
  }
  Expr e;
  e.kind = Expr::Kind::kRepeat;
  e.items.push_back(std::move(item));
  e.min = min;
  e.max = max;
  return e;
}

std::string PrintExpr(const Expr& e) {
  std::string out;
  Print(e, &out);
  return out;
}

void AppendGbnfChar(char32_t c, bool in_class, std::string* out) {
  switch (c) {
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  if (!in_class && c == '"') {
    out->append("\\\"");
    return;
  }
  if (in_class && c == ']') {
    out->append("\\]");
    return;
  }
  // `-` and `^` are written in hex inside a class: `^` opens a negated class
  // when it comes first, `-` makes ranges, and "\-" is not an escape every
  // GBNF parser knows.
  if (in_class && (c == '-' || c == '^')) {
    absl::StrAppendFormat(out, "\\x%02X", static_cast<uint32_t>(c));
    return;
  }
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
    absl::StrAppendFormat(out, "\\x%02X", static_cast<uint32_t>(c));
    return;
  }
  // Invisible and space characters (no-break and other Unicode spaces,
  // separators, the BOM), surrogates (not encodable in UTF-8), private use
  // and specials print as escapes so the grammar text stays readable.
  bool escape = c == 0xA0 || c == 0xAD || c == 0x1680 ||
                (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
                (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF ||
                (c >= 0xD800 && c <= 0xF8FF) || (c >= 0xFFF0 && c <= 0xFFFF);
  if (escape) {
    if (c <= 0xFF) {
      absl::StrAppendFormat(out, "\\x%02X", static_cast<uint32_t>(c));
    } else {
      absl::StrAppendFormat(out, "\\u%04X", static_cast<uint32_t>(c));
    }
    return;
  }
  if (c >= 0xF0000) {
    absl::StrAppendFormat(out, "\\U%08X", static_cast<uint32_t>(c));
    return;
  }
  AppendUtf8(c, out);
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::u32string DecodeUtf8(std::string_view utf8) {
  std::u32string out;
  size_t i = 0;
  while (i < utf8.size()) {
    auto b = static_cast<unsigned char>(utf8[i]);
    int len = b < 0x80         ? 1
              : (b >> 5) == 6  ? 2
              : (b >> 4) == 14 ? 3
              : (b >> 3) == 30 ? 4
                               : 0;
    if (len == 0 || i + len > utf8.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t c = len == 1 ? b : b & (0x7F >> len);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      auto cont = static_cast<unsigned char>(utf8[i + k]);
      if ((cont & 0xC0) != 0x80) ok = false;
      c = (c << 6) | (cont & 0x3F);
    }
    out.push_back(ok ? c : 0xFFFD);
    i += ok ? len : 1;
  }
  return out;
}

}  // namespace ggufd::grammar::schema
