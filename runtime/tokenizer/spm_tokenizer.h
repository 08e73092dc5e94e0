// SentencePiece-style BPE over the vocabulary's scores, as llama.cpp's
// llm_tokenizer_spm_session runs it: spaces become U+2581, the text starts as
// one symbol per UTF-8 character, and the adjacent pair whose concatenation
// is the highest-scoring token merges first (leftmost on ties) until no pair
// forms a token. A symbol left without a token falls back to its bytes as
// <0xXX> tokens.
//
// SentencePiece does not pre-split the text, but two adjacent characters
// that appear next to each other in no token can never end up in one
// token, so the text is cut there into independent segments (a word, in
// practice) without changing the result. Each segment merges with a binary
// heap and lazy invalidation: O(n log n) even for one 10 MB segment.
#ifndef GGUFD_RUNTIME_TOKENIZER_SPM_TOKENIZER_H_
#define GGUFD_RUNTIME_TOKENIZER_SPM_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "runtime/tokenizer/vocab.h"

namespace ggufd::tokenizer {

class SpmTokenizer {
 public:
  struct Symbol {
    uint32_t begin;
    uint32_t length;  // 0 once merged into its left neighbour
    int32_t prev;
    int32_t next;
  };
  struct Bigram {
    float score;
    uint32_t left;
    uint32_t right;
    uint32_t length;
  };
  // Reusable per-thread buffers.
  struct Scratch {
    std::string escaped;
    std::vector<Symbol> symbols;
    std::vector<Bigram> heap;
  };

  // `vocab` must outlive the tokenizer.
  explicit SpmTokenizer(const Vocab& vocab);

  // Appends the ids of `text` (well-formed UTF-8, no special tokens), with a
  // leading space first when `add_space_prefix`.
  void Encode(std::string_view text, bool add_space_prefix, Scratch& scratch,
              std::vector<TokenId>& out) const;

 private:
  void TryAddBigram(int32_t left, int32_t right, Scratch& scratch) const;
  // Merges and emits symbols [begin, end), which form one segment.
  void EncodeSegment(int32_t begin, int32_t end, Scratch& scratch,
                     std::vector<TokenId>& out) const;
  // A character's bytes packed into an integer (UTF-8 is at most 4 bytes).
  static uint32_t PackChar(std::string_view c);

  const Vocab* vocab_;
  // Byte fallback: "<0xXX>", else the one-byte token, else unk.
  std::array<TokenId, 256> byte_token_;
  // Every (char, next char) pair that occurs inside some token, packed.
  absl::flat_hash_set<uint64_t> joinable_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_SPM_TOKENIZER_H_
