// Grammar for the decimal integers in a range, written as JSON writes them
// (no leading zeros, no "+", no "-0"). Either bound may be open; an open
// side allows at most max(kUnboundedIntegerDigits, digits of the other
// bound) digits, as llama.cpp bounds unconstrained integers.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_INTEGER_RANGE_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_INTEGER_RANGE_H_

#include <cstdint>
#include <optional>

#include "runtime/grammar/schema/gbnf_expr.h"

namespace ggufd::grammar::schema {

// Nothing when the range is empty (min > max).
Expr IntegerRange(std::optional<int64_t> min, std::optional<int64_t> max);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_INTEGER_RANGE_H_
