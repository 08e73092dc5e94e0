#include "runtime/grammar/schema/codepoint_set.h"

#include <algorithm>

namespace ggufd::grammar::schema {

CodepointSet CodepointSet::Of(char32_t lo, char32_t hi) {
  CodepointSet set;
  set.Add(lo, hi);
  return set;
}

void CodepointSet::Add(char32_t lo, char32_t hi) {
  if (lo > hi) return;
  // Insert, then merge every range that overlaps or touches the new one.
  auto it = std::lower_bound(
      ranges_.begin(), ranges_.end(), lo,
      [](const Range& r, char32_t v) { return r.second + 1 < v; });
  auto end = it;
  while (end != ranges_.end() && end->first <= hi + 1) {
    lo = std::min(lo, end->first);
    hi = std::max(hi, end->second);
    ++end;
  }
  it = ranges_.erase(it, end);
  ranges_.insert(it, {lo, hi});
}

void CodepointSet::AddSet(const CodepointSet& other) {
  for (const Range& r : other.ranges_) Add(r.first, r.second);
}

CodepointSet CodepointSet::Complement() const {
  CodepointSet out;
  char32_t next = 0;
  for (const Range& r : ranges_) {
    if (r.first > next) out.ranges_.push_back({next, r.first - 1});
    next = r.second + 1;
  }
  if (next <= kMaxCodepoint) out.ranges_.push_back({next, kMaxCodepoint});
  return out;
}

CodepointSet CodepointSet::Intersect(const CodepointSet& other) const {
  CodepointSet out;
  size_t i = 0, j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    const Range& a = ranges_[i];
    const Range& b = other.ranges_[j];
    char32_t lo = std::max(a.first, b.first);
    char32_t hi = std::min(a.second, b.second);
    if (lo <= hi) out.ranges_.push_back({lo, hi});
    if (a.second < b.second) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

bool CodepointSet::Contains(char32_t c) const {
  auto it =
      std::lower_bound(ranges_.begin(), ranges_.end(), c,
                       [](const Range& r, char32_t v) { return r.second < v; });
  return it != ranges_.end() && it->first <= c;
}

}  // namespace ggufd::grammar::schema
