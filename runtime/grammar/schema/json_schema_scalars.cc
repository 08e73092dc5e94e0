// Strings ("minLength", "maxLength", "pattern", "format") and integer bounds.
#include <cmath>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/integer_range.h"
#include "runtime/grammar/schema/json_schema_converter.h"
#include "runtime/grammar/schema/regex_expr.h"
#include "runtime/grammar/schema/string_formats.h"

namespace ggufd::grammar::schema {
namespace {

// Integer bounds this far from zero still fit int64 after rounding.
constexpr double kMaxIntegerBound = 1e18;

absl::StatusOr<std::optional<double>> NumberKeyword(
    const Json& schema, const char* key, const std::string& pointer) {
  if (!schema.contains(key)) return std::nullopt;
  const Json& v = schema[key];
  if (!v.is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " at ", Where(pointer), " must be a number"));
  }
  double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > kMaxIntegerBound) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, " ", v.dump(), " at ", Where(pointer),
        " is outside the supported integer range (magnitude up to 1e18)"));
  }
  return d;
}

}  // namespace

absl::StatusOr<Expr> SchemaConverter::VisitString(const Json& schema,
                                                  const std::string& pointer,
                                                  const std::string& name) {
  bool has_pattern = schema.contains("pattern");
  bool has_format = schema.contains("format");
  bool has_length =
      schema.contains("minLength") || schema.contains("maxLength");
  if (has_pattern + has_format + has_length > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("combining pattern, format and minLength/maxLength at ",
                     Where(pointer), " is not supported; use one of them"));
  }
  Expr quote = Literal(U"\"");
  if (has_pattern) {
    const Json& p = schema["pattern"];
    if (!p.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pattern at ", Where(pointer), " must be a string"));
    }
    RegexExprOptions options;
    options.json_string = true;
    options.search = true;
    options.any_char = Builtin("char");
    options.rule_hint = name.empty() ? "pattern" : name;
    absl::StatusOr<Expr> e =
        RegexToExpr(p.get<std::string>(), options, &builder_);
    if (!e.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pattern at ", Where(pointer), ": ", e.status().message()));
    }
    return Seq({quote, *std::move(e), quote});
  }
  if (has_format) {
    const Json& f = schema["format"];
    std::optional<Expr> content;
    if (f.is_string())
      content = StringFormatContent(f.get<std::string>(), &builder_);
    if (!content) {
      return absl::InvalidArgumentError(absl::StrCat(
          "format ", f.dump(), " at ", Where(pointer),
          " is not supported (supported: ", SupportedFormatsList(), ")"));
    }
    return Seq({quote, *std::move(content), quote});
  }
  if (has_length) {
    absl::StatusOr<std::optional<int64_t>> min =
        CountKeyword(schema, "minLength", pointer);
    if (!min.ok()) return min.status();
    absl::StatusOr<std::optional<int64_t>> max =
        CountKeyword(schema, "maxLength", pointer);
    if (!max.ok()) return max.status();
    return Seq(
        {quote,
         Repeat(Builtin("char"), min->value_or(0), max->value_or(kUnbounded)),
         quote});
  }
  return Builtin("string");
}

absl::StatusOr<Expr> SchemaConverter::VisitInteger(const Json& schema,
                                                   const std::string& pointer) {
  std::optional<int64_t> lo, hi;
  auto raise_lo = [&](int64_t v) { lo = lo ? std::max(*lo, v) : v; };
  auto lower_hi = [&](int64_t v) { hi = hi ? std::min(*hi, v) : v; };
  auto minimum = NumberKeyword(schema, "minimum", pointer);
  if (!minimum.ok()) return minimum.status();
  auto maximum = NumberKeyword(schema, "maximum", pointer);
  if (!maximum.ok()) return maximum.status();
  // Draft 4 spells exclusive bounds as booleans qualifying minimum/maximum.
  bool draft4_exclusive_min = false, draft4_exclusive_max = false;
  for (const char* key : {"exclusiveMinimum", "exclusiveMaximum"}) {
    if (!schema.contains(key) || !schema[key].is_boolean()) continue;
    bool is_min = std::string_view(key) == "exclusiveMinimum";
    (is_min ? draft4_exclusive_min : draft4_exclusive_max) =
        schema[key].get<bool>();
  }
  if (*minimum) {
    raise_lo(draft4_exclusive_min
                 ? static_cast<int64_t>(std::floor(**minimum)) + 1
                 : static_cast<int64_t>(std::ceil(**minimum)));
  }
  if (*maximum) {
    lower_hi(draft4_exclusive_max
                 ? static_cast<int64_t>(std::ceil(**maximum)) - 1
                 : static_cast<int64_t>(std::floor(**maximum)));
  }
  if (schema.contains("exclusiveMinimum") &&
      !schema["exclusiveMinimum"].is_boolean()) {
    auto v = NumberKeyword(schema, "exclusiveMinimum", pointer);
    if (!v.ok()) return v.status();
    raise_lo(static_cast<int64_t>(std::floor(**v)) + 1);
  }
  if (schema.contains("exclusiveMaximum") &&
      !schema["exclusiveMaximum"].is_boolean()) {
    auto v = NumberKeyword(schema, "exclusiveMaximum", pointer);
    if (!v.ok()) return v.status();
    lower_hi(static_cast<int64_t>(std::ceil(**v)) - 1);
  }
  if (!lo && !hi) return Builtin("integer");
  return IntegerRange(lo, hi);
}

}  // namespace ggufd::grammar::schema
