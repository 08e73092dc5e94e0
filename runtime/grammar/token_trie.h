// A model's vocabulary as the grammar matcher sees it: each token's bytes
// (llama.cpp's token_to_piece with special tokens rendered as their text,
// cut at the first NUL as llama.cpp's C-string decoding cuts it), which
// tokens end generation, and a byte trie of all the other tokens laid out
// in depth-first order, so one walk checks every token and a prefix shared
// by many tokens is matched once. Built once per loaded model; immutable,
// so any number of matchers on any threads share it.
#ifndef GGUFD_RUNTIME_GRAMMAR_TOKEN_TRIE_H_
#define GGUFD_RUNTIME_GRAMMAR_TOKEN_TRIE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ggufd::grammar {

class TokenTrie {
 public:
  // pieces[id] are the bytes of token id; eog[id] whether it ends
  // generation (eog may be shorter: the rest are not end tokens).
  static TokenTrie Build(std::vector<std::string> pieces,
                         const std::vector<bool>& eog);

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  // The bytes the matcher reads for `id` (empty when it has none, or for
  // an id outside the vocabulary).
  std::string_view piece(int32_t id) const;
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  size_t mask_words() const { return (pieces_.size() + 63) / 64; }
  // Tokens a `<[id]>` or `!<...>` element may take at a character boundary:
  // not end tokens, and bytes that decode to at least one whole character
  // (llama.cpp rejects the others there); one bit per id.
  const std::vector<uint64_t>& whole_char_tokens() const {
    return whole_char_tokens_;
  }

  // The trie, in depth-first order. Node 0 is the root (no byte); node i
  // > 0 holds byte(i) at depth(i) (1 = a token's first byte), its subtree
  // is [i, subtree_end(i)), and the tokens whose bytes end exactly there
  // are token_ids()[tokens_begin(i) .. tokens_begin(i + 1)).
  size_t node_count() const { return bytes_.size(); }
  uint8_t byte(size_t node) const { return bytes_[node]; }
  uint32_t depth(size_t node) const { return depths_[node]; }
  uint32_t subtree_end(size_t node) const { return ends_[node]; }
  uint32_t tokens_begin(size_t node) const { return token_begins_[node]; }
  const std::vector<int32_t>& token_ids() const { return token_ids_; }
  uint32_t max_depth() const { return max_depth_; }

 private:
  std::vector<std::string> pieces_;
  std::vector<uint8_t> eog_;
  std::vector<int32_t> eog_ids_;
  std::vector<uint64_t> whole_char_tokens_;
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> depths_;
  std::vector<uint32_t> ends_;
  std::vector<uint32_t> token_begins_;  // node_count() + 1 entries
  std::vector<int32_t> token_ids_;
  uint32_t max_depth_ = 0;
};

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_TOKEN_TRIE_H_
