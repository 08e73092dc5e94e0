// The JSON Schema converter's state, shared by the files that handle each
// part of a schema (json_schema_to_gbnf.cc: dispatch, $ref, enum, unions;
// json_schema_objects.cc; json_schema_arrays.cc; json_schema_scalars.cc).
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_SCHEMA_CONVERTER_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_SCHEMA_CONVERTER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/grammar/schema/gbnf_expr.h"
#include "runtime/grammar/schema/grammar_builder.h"

namespace ggufd::grammar::schema {

// Ordered, so "properties" keep their declared order.
using Json = nlohmann::ordered_json;

// "#/a/b" for error messages from a JSON pointer ("/a/b").
std::string Where(std::string_view pointer);
// `pointer` extended by one reference token (escaped per RFC 6901).
std::string ChildPointer(std::string_view pointer, std::string_view token);

class SchemaConverter {
 public:
  explicit SchemaConverter(const Json& root);

  absl::StatusOr<std::string> Convert();

  // Every keyword of `schema` is supported or an ignored annotation.
  absl::Status CheckKeywords(const Json& schema,
                             const std::string& pointer) const;
  // The schema a "$ref" value names, and its pointer within the document.
  absl::StatusOr<std::pair<const Json*, std::string>> ResolveRef(
      const Json& ref, const std::string& pointer) const;

 private:
  absl::StatusOr<Expr> Visit(const Json& schema, const std::string& pointer,
                             const std::string& name, int depth);
  absl::StatusOr<Expr> VisitRef(const Json& ref, const std::string& pointer,
                                int depth);
  absl::StatusOr<Expr> VisitAllOf(const Json& schema,
                                  const std::string& pointer,
                                  const std::string& name, int depth);
  absl::StatusOr<Expr> VisitUnion(const Json& schema,
                                  const std::string& pointer,
                                  const std::string& name, int depth);
  absl::StatusOr<Expr> VisitEnum(const Json& schema,
                                 const std::string& pointer);
  absl::StatusOr<Expr> VisitTyped(const Json& schema,
                                  const std::string& pointer,
                                  const std::string& name, int depth);
  absl::StatusOr<Expr> VisitObject(const Json& schema,
                                   const std::string& pointer,
                                   const std::string& name, int depth);
  absl::StatusOr<Expr> VisitArray(const Json& schema,
                                  const std::string& pointer,
                                  const std::string& name, int depth);
  absl::StatusOr<Expr> VisitString(const Json& schema,
                                   const std::string& pointer,
                                   const std::string& name);
  absl::StatusOr<Expr> VisitInteger(const Json& schema,
                                    const std::string& pointer);
  // A value nested in an object or array: the opening "{" or "[" has been
  // consumed, so a $ref cycle through here always makes progress.
  absl::StatusOr<Expr> VisitNested(const Json& schema,
                                   const std::string& pointer,
                                   const std::string& name, int depth);

  // A reference to one of the fixed rules (space, string, value, ...),
  // defined on first use.
  Expr Builtin(std::string_view name);
  // `e` as a rule reference named after `hint` (kept inline when it is
  // already a single symbol).
  Expr AsRule(std::string_view hint, Expr e);
  // A JSON string (quotes included) that is none of `names`.
  Expr KeyNotIn(const std::vector<std::u32string>& names);

  const Json& root_;
  std::string root_id_;
  GrammarBuilder builder_;
  // Rule name of each $ref target converted so far, by pointer.
  std::map<std::string, std::string> ref_rules_;
  // $ref targets being converted, with the nesting (container_depth_) at
  // which each was entered.
  std::vector<std::pair<std::string, int>> ref_stack_;
  int container_depth_ = 0;
};

// A count keyword (minItems, maxLength, ...) of `schema`: absent, or a
// non-negative integer within kMaxRepetition.
absl::StatusOr<std::optional<int64_t>> CountKeyword(const Json& schema,
                                                    const char* key,
                                                    const std::string& pointer);

// "name-part", or "part" when name is empty (the root).
std::string JoinName(std::string_view name, std::string_view part);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_SCHEMA_CONVERTER_H_
