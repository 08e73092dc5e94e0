#include "runtime/tokenizer/special_tokens.h"

namespace ggufd::tokenizer {
namespace {

// C isspace() in the "C" locale, which is what llama.cpp strips.
bool IsAsciiSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab)
    : vocab_(&vocab), root_(256, -1) {
  node_token_.push_back(kNoToken);  // node 0 is the root
  for (TokenId id : vocab.special_by_length()) {
    const std::string_view text = vocab.text(id);
    int32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto byte = static_cast<uint8_t>(text[i]);
      int32_t* child;
      if (node == 0) {
        child = &root_[byte];
      } else {
        child =
            &edges_
                 .try_emplace(
                     (uint64_t{static_cast<uint32_t>(node)} << 8) | byte, -1)
                 .first->second;
      }
      if (*child < 0) {
        *child = static_cast<int32_t>(node_token_.size());
        node_token_.push_back(kNoToken);
      }
      node = *child;
    }
    node_token_[node] = id;
  }
}

void SpecialTokenSplitter::FindOccurring(
    std::string_view text, bool parse_special,
    absl::flat_hash_map<TokenId, Occurrence>& found) const {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    int32_t node = root_[p[i]];
    size_t j = i + 1;
    while (node >= 0) {
      const TokenId id = node_token_[node];
      if (id != kNoToken &&
          (parse_special ||
           !vocab_->HasAttr(id, kAttrControl | kAttrUnknown))) {
        auto [it, inserted] = found.try_emplace(
            id, Occurrence{static_cast<uint32_t>(i), static_cast<uint32_t>(i)});
        if (!inserted) it->second.last = static_cast<uint32_t>(i);
      }
      if (j >= n) break;
      auto it =
          edges_.find((uint64_t{static_cast<uint32_t>(node)} << 8) | p[j]);
      node = it == edges_.end() ? -1 : it->second;
      ++j;
    }
  }
}

void SpecialTokenSplitter::Partition(
    std::string_view text, bool parse_special,
    absl::Span<const std::pair<size_t, size_t>> literal,
    std::vector<Fragment>& out) const {
  out.clear();
  if (text.empty()) return;
  out.push_back({0, static_cast<uint32_t>(text.size()), kNoToken});
  if (vocab_->special_by_length().empty()) return;

  absl::flat_hash_map<TokenId, Occurrence> found;
  FindOccurring(text, parse_special, found);
  if (found.empty()) return;

  std::vector<Fragment> next;
  for (TokenId id : vocab_->special_by_length()) {
    auto occurrence = found.find(id);
    if (occurrence == found.end()) continue;
    const std::string_view token_text = vocab_->text(id);
    const size_t len = token_text.size();
    const uint32_t lo = occurrence->second.first;
    const size_t hi = occurrence->second.last + len;
    const bool lstrip = vocab_->HasAttr(id, kAttrLstrip);
    const bool rstrip = vocab_->HasAttr(id, kAttrRstrip);
    const bool control = vocab_->HasAttr(id, kAttrControl | kAttrUnknown);
    auto in_literal = [&](size_t begin, size_t end) {
      for (const auto& [lo_lit, hi_lit] : literal) {
        if (begin < hi_lit && lo_lit < end) return true;
      }
      return false;
    };
    next.clear();
    for (const Fragment& fragment : out) {
      if (fragment.is_token() || fragment.end <= lo || fragment.begin >= hi) {
        next.push_back(fragment);
        continue;
      }
      size_t base = fragment.begin;
      size_t from = base;  // where to look next; base: where text resumes
      const size_t end = fragment.end;
      const std::string_view window = text.substr(0, end);
      while (from < end) {
        const size_t match = window.find(token_text, from);
        if (match == std::string_view::npos) break;
        if (control && in_literal(match, match + len)) {
          from = match + 1;
          continue;
        }
        size_t left_end = match;
        if (lstrip) {
          while (left_end > base && IsAsciiSpace(text[left_end - 1])) {
            --left_end;
          }
        }
        if (left_end > base) {
          next.push_back({static_cast<uint32_t>(base),
                          static_cast<uint32_t>(left_end), kNoToken});
        }
        next.push_back({static_cast<uint32_t>(match),
                        static_cast<uint32_t>(match + len), id});
        base = match + len;
        if (rstrip) {
          while (base < end && IsAsciiSpace(text[base])) ++base;
        }
        from = base;
      }
      if (base < end) {
        next.push_back({static_cast<uint32_t>(base), static_cast<uint32_t>(end),
                        kNoToken});
      }
    }
    out.swap(next);
  }
}

}  // namespace ggufd::tokenizer
