#include "runtime/grammar/token_trie.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "runtime/grammar/partial_utf8.h"

namespace ggufd::grammar {

TokenTrie TokenTrie::Build(std::vector<std::string> pieces,
                           const std::vector<bool>& eog) {
  TokenTrie trie;
  const size_t n = pieces.size();
  trie.eog_.assign(n, 0);
  trie.whole_char_tokens_.assign((n + 63) / 64, 0);
  for (size_t id = 0; id < n; ++id) {
    std::string& piece = pieces[id];
    // llama.cpp decodes pieces as C strings: a NUL ends them.
    if (const size_t nul = piece.find('\0'); nul != std::string::npos) {
      piece.resize(nul);
    }
    if (id < eog.size() && eog[id]) {
      trie.eog_[id] = 1;
      trie.eog_ids_.push_back(static_cast<int32_t>(id));
      continue;
    }
    const PieceDecoding d = DecodePiece(piece, {});
    if (d.valid && d.chars > 0) {
      trie.whole_char_tokens_[id / 64] |= uint64_t{1} << (id % 64);
    }
  }
  trie.pieces_ = std::move(pieces);

  // Every other token with bytes, in byte order: a depth-first layout then
  // falls out of one pass, each token opening the nodes past the prefix it
  // shares with the one before.
  std::vector<int32_t> order;
  for (size_t id = 0; id < n; ++id) {
    if (!trie.eog_[id] && !trie.pieces_[id].empty()) {
      order.push_back(static_cast<int32_t>(id));
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return trie.pieces_[a] < trie.pieces_[b];
  });
  trie.bytes_.push_back(0);
  trie.depths_.push_back(0);
  trie.ends_.push_back(0);
  trie.token_begins_.push_back(0);
  std::vector<uint32_t> open = {0};  // the path of nodes to the last token
  std::string_view previous;
  for (int32_t id : order) {
    const std::string_view piece = trie.pieces_[id];
    size_t common = 0;
    while (common < piece.size() && common < previous.size() &&
           piece[common] == previous[common]) {
      ++common;
    }
    // Close the nodes below the shared prefix: their subtrees are done.
    while (open.size() > common + 1) {
      trie.ends_[open.back()] = static_cast<uint32_t>(trie.bytes_.size());
      open.pop_back();
    }
    for (size_t d = common; d < piece.size(); ++d) {
      open.push_back(static_cast<uint32_t>(trie.bytes_.size()));
      trie.bytes_.push_back(static_cast<uint8_t>(piece[d]));
      trie.depths_.push_back(static_cast<uint32_t>(d + 1));
      trie.ends_.push_back(0);
      trie.token_begins_.push_back(
          static_cast<uint32_t>(trie.token_ids_.size()));
    }
    // The token ends at the deepest open node; tokens are added in node
    // order, so each node's tokens are contiguous.
    trie.token_ids_.push_back(id);
    trie.max_depth_ =
        std::max(trie.max_depth_, static_cast<uint32_t>(piece.size()));
    previous = piece;
  }
  while (!open.empty()) {
    trie.ends_[open.back()] = static_cast<uint32_t>(trie.bytes_.size());
    open.pop_back();
  }
  trie.token_begins_.push_back(static_cast<uint32_t>(trie.token_ids_.size()));
  return trie;
}

std::string_view TokenTrie::piece(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return pieces_[id];
}

bool TokenTrie::is_eog(int32_t id) const {
  return id >= 0 && id < vocab_size() && eog_[id] != 0;
}

}  // namespace ggufd::grammar
