// Collects the named rules of a generated grammar and renders it as GBNF
// text with `root` first. Rendering also makes the grammar safe to hand to a
// matcher: rules that can never finish (a required property that recurses
// forever, an empty enum) are pruned from every alternative that mentions
// them, a root that can never finish is an error, and the size limits of
// schema_limits.h are enforced.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_GRAMMAR_BUILDER_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_GRAMMAR_BUILDER_H_

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/grammar/schema/gbnf_expr.h"

namespace ggufd::grammar::schema {

class GrammarBuilder {
 public:
  // `reserved` names (the fixed-name rules: space, string, ...) are never
  // given to AddRule/ReserveRule hints; a hint equal to one gets a "-".
  explicit GrammarBuilder(std::set<std::string> reserved = {});

  // Adds a rule named after `hint` (characters outside [a-zA-Z0-9-] become
  // "-", a numeric suffix keeps names unique) and returns its name. A rule
  // with the same body is reused instead.
  std::string AddRule(std::string_view hint, Expr body);
  // A name for a rule whose body is given later by DefineRule (so a
  // recursive $ref can refer to the rule while it is being built).
  std::string ReserveRule(std::string_view hint);
  void DefineRule(const std::string& name, Expr body);
  // Defines a fixed-name rule once (later calls are no-ops).
  void AddFixedRule(const std::string& name, Expr body);
  bool HasRule(const std::string& name) const { return rules_.contains(name); }

  // The grammar `root ::= root_body` plus every rule reachable from it.
  // `what` names the input in errors ("schema", "pattern").
  absl::StatusOr<std::string> Render(Expr root_body,
                                     std::string_view what) const;

 private:
  std::string UniqueName(std::string_view hint) const;

  std::set<std::string> reserved_;
  std::map<std::string, Expr> rules_;
  std::set<std::string> undefined_;
  std::map<std::string, std::string> name_by_body_;
};

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_GRAMMAR_BUILDER_H_
