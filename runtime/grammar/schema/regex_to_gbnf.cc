#include "runtime/grammar/schema/regex_to_gbnf.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/grammar_builder.h"
#include "runtime/grammar/schema/json_string_chars.h"
#include "runtime/grammar/schema/regex_expr.h"
#include "runtime/grammar/schema/regex_parser.h"

namespace ggufd::grammar {
namespace schema {
namespace {

class Converter {
 public:
  Converter(const RegexExprOptions& options, GrammarBuilder* builder)
      : options_(options), builder_(builder) {}

  absl::StatusOr<Expr> Convert(const RegexNode& node) {
    switch (node.kind) {
      case RegexNode::Kind::kEmpty:
        return Empty();
      case RegexNode::Kind::kSet:
        return Encode(node.set);
      case RegexNode::Kind::kStart:
      case RegexNode::Kind::kEnd:
        return absl::InvalidArgumentError(absl::StrCat(
            "anchor ", node.kind == RegexNode::Kind::kStart ? "^" : "$",
            " is only supported at the start (^) or end ($) of the pattern "
            "or of a top-level alternative"));
      case RegexNode::Kind::kSeq:
      case RegexNode::Kind::kAlt: {
        std::vector<Expr> items;
        for (const RegexNode& item : node.items) {
          absl::StatusOr<Expr> e = Convert(item);
          if (!e.ok()) return e;
          items.push_back(*std::move(e));
        }
        return node.kind == RegexNode::Kind::kSeq ? Seq(std::move(items))
                                                  : Alt(std::move(items));
      }
      case RegexNode::Kind::kRepeat: {
        absl::StatusOr<Expr> item = Convert(node.items[0]);
        if (!item.ok()) return item;
        return Repeat(*std::move(item), node.min,
                      node.max < 0 ? kUnbounded : node.max);
      }
    }
    return absl::InternalError("unknown regex node");
  }

  // One top-level alternative: its own ^ and $ decide whether (in search
  // mode) text may come before or after the match.
  absl::StatusOr<Expr> ConvertBranch(const RegexNode& branch) {
    std::vector<const RegexNode*> items;
    if (branch.kind == RegexNode::Kind::kSeq) {
      for (const RegexNode& item : branch.items) items.push_back(&item);
    } else {
      items.push_back(&branch);
    }
    bool anchored_start = false, anchored_end = false;
    if (!items.empty() && items.front()->kind == RegexNode::Kind::kStart) {
      anchored_start = true;
      items.erase(items.begin());
    }
    if (!items.empty() && items.back()->kind == RegexNode::Kind::kEnd) {
      anchored_end = true;
      items.pop_back();
    }
    std::vector<Expr> parts;
    if (options_.search && !anchored_start) {
      parts.push_back(Repeat(options_.any_char, 0, kUnbounded));
    }
    for (const RegexNode* item : items) {
      absl::StatusOr<Expr> e = Convert(*item);
      if (!e.ok()) return e;
      parts.push_back(*std::move(e));
    }
    if (options_.search && !anchored_end) {
      parts.push_back(Repeat(options_.any_char, 0, kUnbounded));
    }
    return Seq(std::move(parts));
  }

 private:
  Expr Encode(const CodepointSet& set) {
    if (!options_.json_string) return Class(set);
    Expr encoded = JsonEncodedChar(set);
    if (encoded.kind != Expr::Kind::kAlt) return encoded;
    return Ref(
        builder_->AddRule(options_.rule_hint + "-char", std::move(encoded)));
  }

  const RegexExprOptions& options_;
  GrammarBuilder* builder_;
};

}  // namespace

absl::StatusOr<Expr> RegexToExpr(std::string_view pattern,
                                 const RegexExprOptions& options,
                                 GrammarBuilder* builder) {
  absl::StatusOr<RegexNode> tree = ParseEcmaRegex(pattern);
  if (!tree.ok()) return tree.status();
  Converter converter(options, builder);
  std::vector<Expr> branches;
  if (tree->kind == RegexNode::Kind::kAlt) {
    for (const RegexNode& branch : tree->items) {
      absl::StatusOr<Expr> e = converter.ConvertBranch(branch);
      if (!e.ok()) return e;
      branches.push_back(*std::move(e));
    }
  } else {
    absl::StatusOr<Expr> e = converter.ConvertBranch(*tree);
    if (!e.ok()) return e;
    branches.push_back(*std::move(e));
  }
  return Alt(std::move(branches));
}

}  // namespace schema

absl::StatusOr<std::string> RegexToGbnf(std::string_view pattern) {
  schema::GrammarBuilder builder;
  schema::RegexExprOptions options;
  absl::StatusOr<schema::Expr> root =
      schema::RegexToExpr(pattern, options, &builder);
  if (!root.ok()) return root.status();
  return builder.Render(*std::move(root), "pattern");
}

}  // namespace ggufd::grammar
