#include "runtime/grammar/schema/grammar_builder.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/schema_limits.h"

namespace ggufd::grammar::schema {
namespace {

constexpr int64_t kInfinite = INT64_MAX / 4;

int64_t SatAdd(int64_t a, int64_t b) { return std::min(kInfinite, a + b); }
int64_t SatMul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kInfinite / b ? kInfinite : std::min(kInfinite, a * b);
}

// Length of the shortest string `e` matches (kInfinite: none), given the
// current estimate for each rule.
int64_t MinLength(const Expr& e, const std::map<std::string, int64_t>& rule) {
  switch (e.kind) {
    case Expr::Kind::kNothing:
      return kInfinite;
    case Expr::Kind::kEmpty:
      return 0;
    case Expr::Kind::kLiteral:
      return static_cast<int64_t>(e.text.size());
    case Expr::Kind::kClass:
      return 1;
    case Expr::Kind::kRef: {
      auto it = rule.find(e.name);
      return it == rule.end() ? kInfinite : it->second;
    }
    case Expr::Kind::kSeq: {
      int64_t sum = 0;
      for (const Expr& item : e.items) sum = SatAdd(sum, MinLength(item, rule));
      return sum;
    }
    case Expr::Kind::kAlt: {
      int64_t best = kInfinite;
      for (const Expr& item : e.items)
        best = std::min(best, MinLength(item, rule));
      return best;
    }
    case Expr::Kind::kRepeat:
      if (e.min == 0) return 0;
      return SatMul(MinLength(e.items[0], rule), e.min);
  }
  return kInfinite;
}

// Grammar elements a llama.cpp-style parser creates for `e`: a counted
// repetition copies its element (a parenthesized group becomes one rule
// reference) once per allowed occurrence.
int64_t ExpandedSize(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kNothing:
    case Expr::Kind::kEmpty:
      return 1;
    case Expr::Kind::kLiteral:
      return static_cast<int64_t>(e.text.size());
    case Expr::Kind::kClass:
    case Expr::Kind::kRef:
      return 1;
    case Expr::Kind::kSeq:
    case Expr::Kind::kAlt: {
      int64_t sum = 0;
      for (const Expr& item : e.items) sum = SatAdd(sum, ExpandedSize(item));
      return sum;
    }
    case Expr::Kind::kRepeat: {
      const Expr& item = e.items[0];
      int64_t copies = e.max == kUnbounded ? e.min + 1 : e.max;
      bool atomic = item.kind == Expr::Kind::kLiteral ||
                    item.kind == Expr::Kind::kClass ||
                    item.kind == Expr::Kind::kRef;
      if (atomic) return SatMul(ExpandedSize(item), copies);
      return SatAdd(ExpandedSize(item), copies);
    }
  }
  return 1;
}

// Levels of compound expressions (sequence, alternative, repetition) in `e`.
int Height(const Expr& e) {
  int h = 0;
  for (const Expr& item : e.items) h = std::max(h, Height(item));
  bool compound = e.kind == Expr::Kind::kSeq || e.kind == Expr::Kind::kAlt ||
                  e.kind == Expr::Kind::kRepeat;
  return h + (compound ? 1 : 0);
}

// Moves subexpressions nested deeper than kMaxExprDepth into rules of their
// own (named `base`-part-N), so no rule needs deeply nested parentheses:
// GBNF parsers bound that nesting (llama.cpp by recursion, ggufd at 64).
// `taken` says whether a name is already used; new rules go to `out`.
template <typename TakenFn>
void HoistDeep(Expr& e, int depth, const std::string& base,
               const TakenFn& taken, std::map<std::string, Expr>* out,
               int* counter) {
  constexpr int kMaxExprDepth = 16;
  bool compound = e.kind == Expr::Kind::kSeq || e.kind == Expr::Kind::kAlt ||
                  e.kind == Expr::Kind::kRepeat;
  if (!compound) return;
  // Small leaves stay inline: they add at most two levels.
  if (depth >= kMaxExprDepth && Height(e) > 2) {
    std::string name;
    do {
      name = absl::StrCat(base, "-part-", (*counter)++);
    } while (taken(name) || out->contains(name));
    Expr body = std::move(e);
    e = Ref(name);
    HoistDeep(body, 0, base, taken, out, counter);
    (*out)[name] = std::move(body);
    return;
  }
  for (Expr& item : e.items) {
    HoistDeep(item, depth + 1, base, taken, out, counter);
  }
}

void CollectRefs(const Expr& e, std::vector<std::string>* out) {
  if (e.kind == Expr::Kind::kRef) out->push_back(e.name);
  for (const Expr& item : e.items) CollectRefs(item, out);
}

std::string Sanitize(std::string_view hint) {
  std::string name;
  for (char c : hint) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-';
    if (ok) {
      name.push_back(c);
    } else if (name.empty() || name.back() != '-') {
      name.push_back('-');
    }
  }
  // Deep nesting makes long path-derived names; the head says enough.
  constexpr size_t kMaxNameLength = 72;
  if (name.size() > kMaxNameLength) name.resize(kMaxNameLength);
  if (name.empty()) name = "rule";
  return name;
}

}  // namespace

GrammarBuilder::GrammarBuilder(std::set<std::string> reserved)
    : reserved_(std::move(reserved)) {
  reserved_.insert("root");
}

std::string GrammarBuilder::UniqueName(std::string_view hint) const {
  std::string base = Sanitize(hint);
  if (reserved_.contains(base)) base += "-";
  if (!rules_.contains(base)) return base;
  for (int i = 0;; ++i) {
    std::string candidate = absl::StrCat(base, i);
    if (!rules_.contains(candidate) && !reserved_.contains(candidate)) {
      return candidate;
    }
  }
}

std::string GrammarBuilder::AddRule(std::string_view hint, Expr body) {
  std::string key = PrintExpr(body);
  auto it = name_by_body_.find(key);
  if (it != name_by_body_.end()) return it->second;
  std::string name = UniqueName(hint);
  rules_[name] = std::move(body);
  name_by_body_[key] = name;
  return name;
}

std::string GrammarBuilder::ReserveRule(std::string_view hint) {
  std::string name = UniqueName(hint);
  rules_[name] = Nothing();
  undefined_.insert(name);
  return name;
}

void GrammarBuilder::DefineRule(const std::string& name, Expr body) {
  undefined_.erase(name);
  rules_[name] = std::move(body);
}

void GrammarBuilder::AddFixedRule(const std::string& name, Expr body) {
  if (!rules_.contains(name)) rules_[name] = std::move(body);
}

absl::StatusOr<std::string> GrammarBuilder::Render(
    Expr root_body, std::string_view what_view) const {
  // absl::StrCat takes absl::string_view, which is not std::string_view here.
  const std::string what(what_view);
  if (!undefined_.empty()) {
    return absl::InternalError(
        absl::StrCat("grammar rule ", *undefined_.begin(), " never defined"));
  }
  std::map<std::string, Expr> rules = rules_;
  rules["root"] = std::move(root_body);

  // Shortest completion of every rule; rules with none can never finish and
  // are removed from every alternative that refers to them.
  std::map<std::string, int64_t> min_length;
  // Worklist: a rule is re-evaluated when a rule it refers to gets shorter.
  std::map<std::string, std::vector<std::string>> users;
  for (const auto& [name, body] : rules) {
    std::vector<std::string> refs;
    CollectRefs(body, &refs);
    for (std::string& ref : refs) users[ref].push_back(name);
  }
  std::vector<std::string> work;
  std::set<std::string> queued;
  for (const auto& [name, body] : rules) {
    work.push_back(name);
    queued.insert(name);
  }
  while (!work.empty()) {
    std::string name = std::move(work.back());
    work.pop_back();
    queued.erase(name);
    int64_t len = MinLength(rules.at(name), min_length);
    auto it = min_length.find(name);
    if (len >= kInfinite || (it != min_length.end() && len >= it->second)) {
      continue;
    }
    min_length[name] = len;
    for (const std::string& user : users[name]) {
      if (queued.insert(user).second) work.push_back(user);
    }
  }
  if (!min_length.contains("root")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what,
        " admits no finite document (an unsatisfiable combination, or a "
        "required property or item that recurses forever)"));
  }
  if (min_length["root"] > kMaxMinimumDocumentChars) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the shortest document the ", what, " admits has ", min_length["root"],
        " characters; the limit is ", kMaxMinimumDocumentChars));
  }
  auto dead = [&](const std::string& name) {
    return !min_length.contains(name);
  };
  for (auto& [name, body] : rules) body = PruneRefs(body, dead);
  std::map<std::string, Expr> hoisted;
  auto taken = [&](const std::string& n) { return rules.contains(n); };
  for (auto& [name, body] : rules) {
    int counter = 0;
    HoistDeep(body, 0, name, taken, &hoisted, &counter);
  }
  rules.merge(hoisted);

  // Only rules reachable from root are printed.
  std::set<std::string> reachable = {"root"};
  std::vector<std::string> pending = {"root"};
  while (!pending.empty()) {
    std::string name = std::move(pending.back());
    pending.pop_back();
    std::vector<std::string> refs;
    CollectRefs(rules.at(name), &refs);
    for (std::string& ref : refs) {
      if (!rules.contains(ref)) {
        return absl::InternalError(absl::StrCat("unknown grammar rule ", ref));
      }
      if (reachable.insert(ref).second) pending.push_back(std::move(ref));
    }
  }

  int64_t expanded = 0;
  for (const std::string& name : reachable) {
    expanded = SatAdd(expanded, ExpandedSize(rules.at(name)));
  }
  if (expanded > kMaxExpandedElements) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " needs a grammar of about ", expanded,
                     " elements once repetitions are expanded; the limit is ",
                     kMaxExpandedElements));
  }

  std::string text =
      absl::StrCat("root ::= ", PrintExpr(rules.at("root")), "\n");
  for (const std::string& name : reachable) {
    if (name == "root") continue;
    absl::StrAppend(&text, name, " ::= ", PrintExpr(rules.at(name)), "\n");
    if (text.size() > kMaxGrammarBytes) break;
  }
  if (text.size() > kMaxGrammarBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the grammar for the ", what, " exceeds ", kMaxGrammarBytes, " bytes"));
  }
  return text;
}

}  // namespace ggufd::grammar::schema
