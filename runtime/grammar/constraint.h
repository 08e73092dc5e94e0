// A request's Constraint (runtime/generation.h) compiled into a grammar:
// GBNF as it is, a JSON Schema or a regular expression through the
// converters of runtime/grammar/schema/ (when they are built in).
#ifndef GGUFD_RUNTIME_GRAMMAR_CONSTRAINT_H_
#define GGUFD_RUNTIME_GRAMMAR_CONSTRAINT_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/generation.h"
#include "runtime/grammar/grammar.h"

namespace ggufd::grammar {

// Largest constraint text accepted, of any kind.
inline constexpr size_t kMaxConstraintBytes = kMaxGrammarBytes;

// The request field a constraint of `kind` comes from, for error reports:
// "constraint.grammar", "constraint.json_schema" or "constraint.regex".
std::string_view ConstraintField(Constraint::Kind kind);

// Compiles `constraint`; thread-safe (call it on any thread; the result is
// immutable and shared). InvalidArgument saying what is wrong with the text
// (Unimplemented for a kind whose converter is not built in).
absl::StatusOr<std::shared_ptr<const Grammar>> CompileConstraint(
    const Constraint& constraint);

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_CONSTRAINT_H_
