// Byte-level BPE (GPT-2 style): the regex pre-tokenizer splits the text into
// words, each word's bytes map to GPT-2's printable code points, and merges
// apply lowest rank first (leftmost on ties) until none applies, exactly as
// llama.cpp's llm_tokenizer_bpe_session does.
//
// Merges are keyed by token-id pairs (every merge result is a token; the
// vocabulary checks that at load), so the merge loop never builds strings.
// Short words use a linear scan for the best pair; long words a binary heap
// over (rank, position) with lazy invalidation, so a 10 MB word costs
// O(n log n).
#ifndef GGUFD_RUNTIME_TOKENIZER_BPE_TOKENIZER_H_
#define GGUFD_RUNTIME_TOKENIZER_BPE_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/tokenizer/pre_tokenizer.h"
#include "runtime/tokenizer/vocab.h"

namespace ggufd::tokenizer {

class BpeTokenizer {
 public:
  // Reusable per-thread buffers.
  struct Scratch {
    PreTokenizer::ScratchPtr pre;
    std::vector<TextSpan> words;
    std::vector<TokenId> ids;
    std::vector<int32_t> prev;
    std::vector<int32_t> next;
    std::vector<uint64_t> heap;
    std::string byte_level;
  };

  // `vocab` must outlive the tokenizer.
  static absl::StatusOr<BpeTokenizer> Create(const Vocab& vocab);

  std::unique_ptr<Scratch> NewScratch() const;

  // Appends the ids of `text` (well-formed UTF-8, no special tokens).
  absl::Status Encode(std::string_view text, Scratch& scratch,
                      std::vector<TokenId>& out) const;

 private:
  explicit BpeTokenizer(const Vocab& vocab, PreTokenizer pre)
      : vocab_(&vocab), pre_(std::move(pre)) {}

  void EncodeWord(std::string_view word, Scratch& scratch,
                  std::vector<TokenId>& out) const;
  // (rank << 32 | merged id) of the pair, or kNoMerge. Symbols without a
  // token (negative) never merge.
  uint64_t Merge(TokenId left, TokenId right) const {
    if (left < 0 || right < 0) return kNoMerge;
    auto it = merges_.find(PairKey(left, right));
    return it == merges_.end() ? kNoMerge : it->second;
  }
  static uint64_t PairKey(TokenId left, TokenId right) {
    return (uint64_t{static_cast<uint32_t>(left)} << 32) |
           static_cast<uint32_t>(right);
  }
  // Appends a final symbol: its token, or for a byte without one the
  // fallback tokens.
  void AppendSymbol(TokenId id, std::vector<TokenId>& out) const;

  // A byte whose code point is not a token is the symbol -1 - byte.
  static TokenId MissingByteSymbol(uint8_t byte) { return -1 - byte; }
  static uint8_t MissingByte(TokenId symbol) {
    return static_cast<uint8_t>(-1 - symbol);
  }
  static constexpr TokenId kDead = INT32_MIN;  // merged into its left
  static constexpr uint64_t kNoMerge = ~uint64_t{0};

  const Vocab* vocab_;
  PreTokenizer pre_;
  absl::flat_hash_map<uint64_t, uint64_t> merges_;
  // The initial symbol of each byte: the token of its code point, or
  // MissingByteSymbol().
  std::array<TokenId, 256> byte_symbol_;
  // For a byte without a token: the single-byte tokens of its UTF-8 text
  // (llama.cpp's fallback; usually none).
  std::array<std::vector<TokenId>, 256> byte_fallback_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_BPE_TOKENIZER_H_
