// The right-hand side of a GBNF rule as a small tree, built by the JSON
// Schema and regex converters and printed once at the end. The factory
// functions simplify as they build (adjacent literals merge, a sequence with
// an impossible part is impossible, an alternative with an empty branch
// becomes optional) so the printed grammar stays close to what one would
// write by hand, and so impossible branches never reach the output.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_GBNF_EXPR_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_GBNF_EXPR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/grammar/schema/codepoint_set.h"

namespace ggufd::grammar::schema {

inline constexpr int64_t kUnbounded = -1;

struct Expr {
  enum class Kind {
    kNothing,  // matches no string at all
    kEmpty,    // matches only the empty string
    kLiteral,  // `"text"`
    kClass,    // `[...]`, one code point from a set
    kRef,      // a rule name
    kSeq,
    kAlt,
    kRepeat,  // items[0]{min,max}
  };
  Kind kind = Kind::kNothing;
  std::u32string text;  // kLiteral
  CodepointSet set;     // kClass
  std::string name;     // kRef
  std::vector<Expr> items;
  int64_t min = 0;
  int64_t max = kUnbounded;

  bool is_nothing() const { return kind == Kind::kNothing; }
  bool is_empty() const { return kind == Kind::kEmpty; }
  friend bool operator==(const Expr&, const Expr&) = default;
};

Expr Nothing();
Expr Empty();
Expr Literal(std::u32string text);
// `utf8` must be valid UTF-8 (the JSON parser guarantees it for schema text).
Expr LiteralUtf8(std::string_view utf8);
Expr Class(CodepointSet set);
Expr Ref(std::string name);
Expr Seq(std::vector<Expr> items);
Expr Alt(std::vector<Expr> items);
Expr Repeat(Expr item, int64_t min, int64_t max);
inline Expr Optional(Expr item) { return Repeat(std::move(item), 0, 1); }

// Rebuilds `e` bottom-up through the factories, replacing every reference
// to a rule for which `dead(name)` is true by Nothing.
template <typename DeadFn>
Expr PruneRefs(const Expr& e, const DeadFn& dead) {
  switch (e.kind) {
    case Expr::Kind::kRef:
      return dead(e.name) ? Nothing() : e;
    case Expr::Kind::kSeq:
    case Expr::Kind::kAlt: {
      std::vector<Expr> items;
      items.reserve(e.items.size());
      for (const Expr& item : e.items) items.push_back(PruneRefs(item, dead));
      return e.kind == Expr::Kind::kSeq ? Seq(std::move(items))
                                        : Alt(std::move(items));
    }
    case Expr::Kind::kRepeat:
      return Repeat(PruneRefs(e.items[0], dead), e.min, e.max);
    default:
      return e;
  }
}

// GBNF text of `e` (Nothing prints as an empty class and must have been
// pruned before printing a grammar).
std::string PrintExpr(const Expr& e);

// Escaping shared by literals and classes.
void AppendGbnfChar(char32_t c, bool in_class, std::string* out);
void AppendUtf8(char32_t c, std::string* out);
std::u32string DecodeUtf8(std::string_view utf8);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_GBNF_EXPR_H_
