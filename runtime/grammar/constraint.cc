#include "runtime/grammar/constraint.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/common/str_cat.h"
#include "runtime/grammar/gbnf_parser.h"

#if GGUFD_HAVE_GRAMMAR_SCHEMA
#include "runtime/grammar/schema/json_schema_to_gbnf.h"
#include "runtime/grammar/schema/regex_to_gbnf.h"
#endif

namespace ggufd::grammar {
namespace {

// A grammar converted from a schema or a pattern may be larger than its
// source; the element and rule bounds still hold.
constexpr size_t kMaxConvertedBytes = 16 * kMaxConstraintBytes;

absl::StatusOr<std::shared_ptr<const Grammar>> FromGbnf(std::string_view gbnf,
                                                        size_t max_bytes) {
  absl::StatusOr<Grammar> grammar = ParseGbnf(gbnf, max_bytes);
  if (!grammar.ok()) return grammar.status();
  return std::make_shared<const Grammar>(std::move(*grammar));
}

#if GGUFD_HAVE_GRAMMAR_SCHEMA
// The converter's grammar must parse: if it does not, that is the
// converter's fault, reported with what it produced.
absl::StatusOr<std::shared_ptr<const Grammar>> FromConverted(
    const absl::StatusOr<std::string>& gbnf, std::string_view what) {
  if (!gbnf.ok()) return gbnf.status();
  auto grammar = FromGbnf(*gbnf, kMaxConvertedBytes);
  if (!grammar.ok()) {
    return absl::InvalidArgumentError(
        StrCat("the ", what, " converts to a grammar that is refused: ",
               grammar.status().message()));
  }
  return grammar;
}
#endif

}  // namespace

std::string_view ConstraintField(Constraint::Kind kind) {
  switch (kind) {
    case Constraint::Kind::kGrammar:
      return "constraint.grammar";
    case Constraint::Kind::kJsonSchema:
      return "constraint.json_schema";
    case Constraint::Kind::kRegex:
      return "constraint.regex";
  }
  return "constraint";
}

absl::StatusOr<std::shared_ptr<const Grammar>> CompileConstraint(
    const Constraint& constraint) {
  if (constraint.text.size() > kMaxConstraintBytes) {
    return absl::InvalidArgumentError(
        StrCat("the constraint has ", constraint.text.size(),
               " bytes; at most ", kMaxConstraintBytes, " are accepted"));
  }
  switch (constraint.kind) {
    case Constraint::Kind::kGrammar:
      return FromGbnf(constraint.text, kMaxConstraintBytes);
    case Constraint::Kind::kJsonSchema:
#if GGUFD_HAVE_GRAMMAR_SCHEMA
      return FromConverted(JsonSchemaToGbnf(constraint.text), "JSON Schema");
#else
      return absl::UnimplementedError(
          "JSON Schema constraints are not built into this ggufd");
#endif
    case Constraint::Kind::kRegex:
#if GGUFD_HAVE_GRAMMAR_SCHEMA
      return FromConverted(RegexToGbnf(constraint.text), "regular expression");
#else
      return absl::UnimplementedError(
          "regular-expression constraints are not built into this ggufd");
#endif
  }
  return absl::InvalidArgumentError("unknown constraint kind");
}

}  // namespace ggufd::grammar
