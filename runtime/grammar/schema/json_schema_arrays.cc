// Arrays: "items", "prefixItems" (or draft-4..2019 array-form "items" with
// "additionalItems"), "minItems", "maxItems".
#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/json_schema_converter.h"
#include "runtime/grammar/schema/schema_limits.h"

namespace ggufd::grammar::schema {

// A count keyword (minItems, maxLength, ...): a non-negative integer within
// kMaxRepetition.
absl::StatusOr<std::optional<int64_t>> CountKeyword(
    const Json& schema, const char* key, const std::string& pointer) {
  if (!schema.contains(key)) return std::nullopt;
  const Json& v = schema[key];
  double d = v.is_number() ? v.get<double>() : -1;
  if (!v.is_number() || !(d >= 0) || std::trunc(d) != d) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, " at ", Where(pointer), " must be a non-negative integer"));
  }
  // Checked before any conversion: 1e300 is a valid JSON count.
  if (d > static_cast<double>(kMaxRepetition)) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " ", v.dump(), " at ", Where(pointer),
                     " exceeds the limit of ", kMaxRepetition));
  }
  return static_cast<int64_t>(d);
}

absl::StatusOr<Expr> SchemaConverter::VisitArray(const Json& schema,
                                                 const std::string& pointer,
                                                 const std::string& name,
                                                 int depth) {
  const Json* prefix = nullptr;
  const Json* tail = nullptr;
  const char* prefix_key = "prefixItems";
  const char* tail_key = "items";
  if (schema.contains("items") && schema["items"].is_array()) {
    if (schema.contains("prefixItems")) {
      return absl::InvalidArgumentError(
          absl::StrCat("prefixItems and array-form items together at ",
                       Where(pointer), " are not supported"));
    }
    prefix = &schema["items"];
    prefix_key = "items";
    tail_key = "additionalItems";
    if (schema.contains("additionalItems")) tail = &schema["additionalItems"];
  } else {
    if (schema.contains("prefixItems")) {
      prefix = &schema["prefixItems"];
      if (!prefix->is_array()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "prefixItems at ", Where(pointer), " must be an array"));
      }
    }
    if (schema.contains("items")) tail = &schema["items"];
  }
  absl::StatusOr<std::optional<int64_t>> min_items =
      CountKeyword(schema, "minItems", pointer);
  if (!min_items.ok()) return min_items.status();
  absl::StatusOr<std::optional<int64_t>> max_items =
      CountKeyword(schema, "maxItems", pointer);
  if (!max_items.ok()) return max_items.status();
  if (!prefix && !tail && !*min_items && !*max_items) return Builtin("array");

  int64_t k = prefix ? static_cast<int64_t>(prefix->size()) : 0;
  if (k > kMaxTupleItems) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix_key, " at ", Where(pointer), " has more than ",
                     kMaxTupleItems, " items"));
  }
  // As llama.cpp, a tuple is complete and closed unless the schema says
  // otherwise (minItems, items / additionalItems, maxItems).
  int64_t lo = min_items->value_or(k);
  int64_t hi = max_items->has_value() ? **max_items
               : (tail || !prefix)    ? kUnbounded
                                      : k;
  static const Json kAny = true;
  const Json* tail_schema = tail                                      ? tail
                            : (!prefix || hi == kUnbounded || hi > k) ? &kAny
                                                                      : nullptr;

  std::vector<Expr> items;
  for (int64_t i = 0; i < k; ++i) {
    std::string item_name = JoinName(name, absl::StrCat("tuple-", i));
    absl::StatusOr<Expr> e = VisitNested(
        (*prefix)[static_cast<size_t>(i)],
        ChildPointer(ChildPointer(pointer, prefix_key), std::to_string(i)),
        item_name, depth + 1);
    if (!e.ok()) return e;
    if (e->is_nothing()) {
      // No value fits here: the array ends before this position.
      hi = hi == kUnbounded ? i : std::min(hi, i);
      break;
    }
    items.push_back(AsRule(item_name, *std::move(e)));
  }
  Expr tail_item = Nothing();
  if (tail_schema && static_cast<int64_t>(items.size()) == k) {
    std::string item_name = JoinName(name, "item");
    absl::StatusOr<Expr> e = VisitNested(
        *tail_schema, ChildPointer(pointer, tail_key), item_name, depth + 1);
    if (!e.ok()) return e;
    tail_item = AsRule(item_name, *std::move(e));
  }
  if (tail_item.is_nothing()) {
    int64_t limit = static_cast<int64_t>(items.size());
    hi = hi == kUnbounded ? limit : std::min(hi, limit);
  }
  if (hi != kUnbounded && lo > hi) return Nothing();

  Expr open = Seq({Literal(U"["), Builtin("space")});
  if (hi == 0) return Seq({open, Literal(U"]")});
  auto comma = [&](Expr e) {
    return Seq({Literal(U","), Builtin("space"), std::move(e)});
  };
  int64_t fixed = static_cast<int64_t>(items.size());
  // rest: the elements after the first, each with its leading comma.
  int64_t from = std::max<int64_t>(fixed, 1);
  Expr rest;
  if (hi != kUnbounded && from >= hi) {
    rest = Empty();
  } else {
    rest = Repeat(comma(tail_item), std::max<int64_t>(lo - from, 0),
                  hi == kUnbounded ? kUnbounded : hi - from);
  }
  for (int64_t i = fixed - 1; i >= 1; --i) {
    if (hi != kUnbounded && i >= hi) continue;
    Expr inner = Seq({comma(items[static_cast<size_t>(i)]), std::move(rest)});
    rest = i < lo ? std::move(inner) : Optional(std::move(inner));
  }
  Expr first = fixed > 0 ? items[0] : tail_item;
  Expr content = Seq({std::move(first), std::move(rest), Builtin("space")});
  if (lo == 0) content = Optional(std::move(content));
  return Seq({std::move(open), std::move(content), Literal(U"]")});
}

}  // namespace ggufd::grammar::schema
