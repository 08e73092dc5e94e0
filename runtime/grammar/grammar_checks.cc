#include "runtime/grammar/grammar_checks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/common/str_cat.h"

namespace ggufd::grammar {
namespace {

// The rules for which `holds` becomes true, where an alternative makes its
// rule hold once every rule it references holds, and `terminal_ok` says
// whether an alternative with a terminal can (productivity: a terminal is
// fine) or cannot (nullability: a terminal reads input) ever qualify. Runs
// in time linear in the grammar's size, whatever its shape: each rule
// reference is counted down once.
std::vector<bool> Fixpoint(const std::vector<Alternatives>& rules,
                           bool terminal_ok) {
  struct Alt {
    uint32_t rule;
    size_t pending;  // rule references not yet known to hold
  };
  std::vector<Alt> alts;
  // For each rule, the alternatives that reference it (once per reference).
  std::vector<std::vector<uint32_t>> users(rules.size());
  std::vector<bool> holds(rules.size(), false);
  std::vector<uint32_t> ready;
  for (uint32_t r = 0; r < rules.size(); ++r) {
    for (const auto& alt : rules[r]) {
      const bool blocked =
          !terminal_ok &&
          std::any_of(alt.begin(), alt.end(),
                      [](const Element& e) { return e.op != Op::kRule; });
      if (blocked) continue;
      const uint32_t index = static_cast<uint32_t>(alts.size());
      size_t refs = 0;
      for (const Element& e : alt) {
        if (e.op != Op::kRule) continue;
        users[e.arg].push_back(index);
        ++refs;
      }
      alts.push_back({r, refs});
      if (refs == 0 && !holds[r]) {
        holds[r] = true;
        ready.push_back(r);
      }
    }
  }
  while (!ready.empty()) {
    const uint32_t r = ready.back();
    ready.pop_back();
    for (uint32_t index : users[r]) {
      Alt& alt = alts[index];
      if (--alt.pending == 0 && !holds[alt.rule]) {
        holds[alt.rule] = true;
        ready.push_back(alt.rule);
      }
    }
  }
  return holds;
}

}  // namespace

absl::Status CheckLeftRecursion(const std::vector<Alternatives>& rules,
                                const std::vector<std::string>& names) {
  const std::vector<bool> nullable = Fixpoint(rules, /*terminal_ok=*/false);
  // r -> s when r can start with s without reading anything first.
  std::vector<std::vector<uint32_t>> leading(rules.size());
  for (uint32_t r = 0; r < rules.size(); ++r) {
    for (const auto& alt : rules[r]) {
      for (const Element& e : alt) {
        if (e.op != Op::kRule) break;
        leading[r].push_back(e.arg);
        if (!nullable[e.arg]) break;
      }
    }
  }
  // Iterative depth-first search (a deep grammar must not overflow the C++
  // stack); a rule met again while still on the path closes a cycle.
  enum Color : uint8_t { kNew, kOnPath, kDone };
  std::vector<Color> color(rules.size(), kNew);
  std::vector<std::pair<uint32_t, size_t>> path;  // rule, next edge
  for (uint32_t start = 0; start < rules.size(); ++start) {
    if (color[start] != kNew) continue;
    path.push_back({start, 0});
    color[start] = kOnPath;
    while (!path.empty()) {
      auto& [r, next] = path.back();
      if (next == leading[r].size()) {
        color[r] = kDone;
        path.pop_back();
        continue;
      }
      const uint32_t s = leading[r][next++];
      if (color[s] == kOnPath) {
        std::vector<std::string> cycle;
        auto it = std::find_if(path.begin(), path.end(),
                               [s](const auto& p) { return p.first == s; });
        for (; it != path.end(); ++it) cycle.push_back(names[it->first]);
        cycle.push_back(names[s]);
        if (cycle.size() > 8) {  // a long cycle is shown by its ends
          cycle.erase(cycle.begin() + 4, cycle.end() - 3);
          cycle.insert(cycle.begin() + 4, "...");
        }
        return absl::InvalidArgumentError(StrCat(
            "rule '", names[s], "' is left-recursive (",
            absl::StrJoin(cycle, " -> "),
            ", each able to start with the next without reading a "
            "character), which GBNF does not allow, as in llama.cpp; write "
            "the repetition with * or + instead, e.g. "
            "list ::= item (\",\" item)*"));
      }
      if (color[s] == kNew) {
        color[s] = kOnPath;
        path.push_back({s, 0});
      }
    }
  }
  return absl::OkStatus();
}

absl::Status DropEndlessAlternatives(std::vector<Alternatives>& rules,
                                     const std::vector<std::string>& names,
                                     uint32_t root) {
  const std::vector<bool> productive = Fixpoint(rules, /*terminal_ok=*/true);
  if (!productive[root]) {
    return absl::InvalidArgumentError(StrCat(
        "rule '", names[root],
        "' can never complete: every alternative needs a rule that always "
        "needs itself again, so no finite text matches it"));
  }
  for (Alternatives& alts : rules) {
    std::erase_if(alts, [&](const std::vector<Element>& alt) {
      return std::any_of(alt.begin(), alt.end(), [&](const Element& e) {
        return e.op == Op::kRule && !productive[e.arg];
      });
    });
  }
  return absl::OkStatus();
}

}  // namespace ggufd::grammar
