// The matcher's parse stacks, interned: a stack is a node (the position on
// top, the stack below it), and equal stacks are the same node, so a set
// of stacks is a set of numbers, comparing two stacks is comparing two
// numbers, and stacks share their bottoms. What a stack expands to (rule
// references on top replaced by their alternatives, until each stack has a
// terminal on top or is empty) is remembered per node.
#ifndef GGUFD_RUNTIME_GRAMMAR_STACK_POOL_H_
#define GGUFD_RUNTIME_GRAMMAR_STACK_POOL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "runtime/grammar/grammar.h"

namespace ggufd::grammar {

class StackPool {
 public:
  static constexpr uint32_t kEmpty = 0;  // the empty stack: the text may end

  // `max_stacks` bounds one expansion's result.
  StackPool(const Grammar& grammar, size_t max_stacks);

  uint32_t Push(uint32_t below, uint32_t position);
  uint32_t top(uint32_t stack) const { return nodes_[stack].position; }
  uint32_t below(uint32_t stack) const { return nodes_[stack].below; }
  const Element& top_element(uint32_t stack) const {
    return grammar_.elements[nodes_[stack].position];
  }
  // The stack once the terminal on top of `stack` has been matched: the
  // next element of its sequence on top, or the stack below when the
  // sequence is done (not yet expanded).
  uint32_t AfterTop(uint32_t stack);

  // Appends what `stack` expands to (every stack with a terminal on top,
  // or empty, it can become without reading anything). False, with
  // error() set, when the expansion exceeds the bound.
  bool Expand(uint32_t stack, std::vector<uint32_t>& out);

  // The positions of `stack`, bottom first, and the stack they make.
  std::vector<uint32_t> Positions(uint32_t stack) const;
  uint32_t FromPositions(const std::vector<uint32_t>& positions);

  size_t size() const { return nodes_.size(); }
  const std::string& error() const { return error_; }
  // Forgets every stack but the empty one.
  void Clear();

 private:
  struct Node {
    uint32_t position;
    uint32_t below;
  };
  static constexpr uint32_t kUnknown = UINT32_MAX;

  const Grammar& grammar_;
  size_t max_stacks_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  // Per node: [begin, begin + count) of expanded_ once computed.
  std::vector<std::pair<uint32_t, uint32_t>> expansion_;
  std::vector<uint32_t> expanded_;
  std::string error_;
  // Scratch of Expand, kept to avoid allocating per call.
  std::vector<uint32_t> todo_;
  absl::flat_hash_set<uint32_t> seen_;
};

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_STACK_POOL_H_
