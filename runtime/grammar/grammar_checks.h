// The checks a parsed grammar must pass before a matcher may run it, on the
// parser's rule lists (before they are laid out flat): left recursion, and
// whether each rule can ever complete.
#ifndef GGUFD_RUNTIME_GRAMMAR_GRAMMAR_CHECKS_H_
#define GGUFD_RUNTIME_GRAMMAR_GRAMMAR_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/grammar/grammar.h"

namespace ggufd::grammar {

// One rule as the parser builds it: alternatives of elements (no kEnd).
using Alternatives = std::vector<std::vector<Element>>;

// InvalidArgument naming the cycle when some rule can reach itself without
// consuming input (through leading rules that may match nothing): the
// matcher's expansion of such a rule would never end.
absl::Status CheckLeftRecursion(const std::vector<Alternatives>& rules,
                                const std::vector<std::string>& names);

// Drops every alternative that needs a rule that can never complete (one
// whose every alternative needs itself again), so the matcher never admits
// text from which no sentence can be finished. InvalidArgument when `root`
// itself can never complete.
absl::Status DropEndlessAlternatives(std::vector<Alternatives>& rules,
                                     const std::vector<std::string>& names,
                                     uint32_t root);

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_GRAMMAR_CHECKS_H_
