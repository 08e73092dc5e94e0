#include "runtime/grammar/stack_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/common/str_cat.h"

namespace ggufd::grammar {
namespace {

// Stacks an expansion may visit (those with a rule on top included) per
// stack it may produce, so that an expansion through long chains of rules
// that add nothing new still ends quickly.
constexpr size_t kVisitsPerResult = 64;

}  // namespace

StackPool::StackPool(const Grammar& grammar, size_t max_stacks)
    : grammar_(grammar), max_stacks_(max_stacks) {
  Clear();
}

void StackPool::Clear() {
  nodes_.assign(1, {UINT32_MAX, UINT32_MAX});
  index_.clear();
  expansion_.assign(1, {kUnknown, 0});
  expanded_.clear();
  error_.clear();
}

uint32_t StackPool::Push(uint32_t below, uint32_t position) {
  const uint64_t key = (uint64_t{position} << 32) | below;
  auto [it, inserted] =
      index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) {
    nodes_.push_back({position, below});
    expansion_.push_back({kUnknown, 0});
  }
  return it->second;
}

uint32_t StackPool::AfterTop(uint32_t stack) {
  const Node node = nodes_[stack];
  const uint32_t next = node.position + 1;
  return grammar_.elements[next].op == Op::kEnd ? node.below
                                                : Push(node.below, next);
}

bool StackPool::Expand(uint32_t stack, std::vector<uint32_t>& out) {
  if (stack == kEmpty || top_element(stack).op != Op::kRule) {
    out.push_back(stack);
    return true;
  }
  if (const auto [begin, count] = expansion_[stack]; begin != kUnknown) {
    out.insert(out.end(), expanded_.begin() + begin,
               expanded_.begin() + begin + count);
    return true;
  }
  const size_t first = expanded_.size();
  todo_.assign(1, stack);
  seen_.clear();
  while (!todo_.empty()) {
    const uint32_t s = todo_.back();
    todo_.pop_back();
    if (!seen_.insert(s).second) continue;
    if (seen_.size() > kVisitsPerResult * max_stacks_) {
      error_ = StrCat(
          "the grammar is too ambiguous here: expanding its rules visits more "
          "than ",
          kVisitsPerResult * max_stacks_, " parse stacks");
      expanded_.resize(first);
      return false;
    }
    if (s == kEmpty || top_element(s).op != Op::kRule) {
      expanded_.push_back(s);
      if (expanded_.size() - first > max_stacks_) {
        error_ =
            StrCat("the grammar is too ambiguous here: more than ", max_stacks_,
                   " ways to parse the text are alive at once");
        expanded_.resize(first);
        return false;
      }
      continue;
    }
    const uint32_t rule = top_element(s).arg;
    const uint32_t base = AfterTop(s);
    for (uint32_t start : grammar_.rules[rule].alternatives) {
      todo_.push_back(
          grammar_.elements[start].op == Op::kEnd ? base : Push(base, start));
    }
  }
  expansion_[stack] = {static_cast<uint32_t>(first),
                       static_cast<uint32_t>(expanded_.size() - first)};
  out.insert(out.end(), expanded_.begin() + first, expanded_.end());
  return true;
}

std::vector<uint32_t> StackPool::Positions(uint32_t stack) const {
  std::vector<uint32_t> positions;
  for (uint32_t s = stack; s != kEmpty; s = nodes_[s].below) {
    positions.push_back(nodes_[s].position);
  }
  std::reverse(positions.begin(), positions.end());
  return positions;
}

uint32_t StackPool::FromPositions(const std::vector<uint32_t>& positions) {
  uint32_t stack = kEmpty;
  for (uint32_t p : positions) stack = Push(stack, p);
  return stack;
}

}  // namespace ggufd::grammar
