// Splits special-token text out of the input before the normal tokenizer
// runs, with exactly the semantics of llama.cpp's tokenizer_st_partition:
// special tokens are tried longest first; each claims its leftmost
// non-overlapping occurrences inside the text not yet claimed. With
// parse_special off, control and unknown tokens are not matched, but
// user-defined tokens still are (as HF tokenizers do for added tokens).
// Tokens with the lstrip / rstrip attribute swallow the ASCII whitespace
// next to them.
//
// A trie finds which special tokens occur at all (one pass), so the
// per-token passes only run for tokens that are present, and only over the
// span between their first and last occurrence.
#ifndef GGUFD_RUNTIME_TOKENIZER_SPECIAL_TOKENS_H_
#define GGUFD_RUNTIME_TOKENIZER_SPECIAL_TOKENS_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "runtime/tokenizer/vocab.h"

namespace ggufd::tokenizer {

// A piece of the partitioned input: raw text [begin, end) when token is
// kNoToken, else one special token.
struct Fragment {
  uint32_t begin = 0;
  uint32_t end = 0;
  TokenId token = kNoToken;
  bool is_token() const { return token != kNoToken; }
};

class SpecialTokenSplitter {
 public:
  // `vocab` must outlive the splitter.
  explicit SpecialTokenSplitter(const Vocab& vocab);

  // Partitions `text` (shorter than 4 GiB) into `out` (cleared first).
  // Control and unknown tokens are not matched where they would overlap a
  // `literal` [begin, end) range.
  void Partition(std::string_view text, bool parse_special,
                 absl::Span<const std::pair<size_t, size_t>> literal,
                 std::vector<Fragment>& out) const;

 private:
  struct Occurrence {
    uint32_t first;
    uint32_t last;
  };
  // Finds which special tokens occur in `text`, with their first and last
  // start offsets.
  void FindOccurring(std::string_view text, bool parse_special,
                     absl::flat_hash_map<TokenId, Occurrence>& found) const;

  const Vocab* vocab_;
  // The trie: root children by byte, deeper edges keyed by (node << 8 | byte).
  std::vector<int32_t> root_;  // [256], -1 = no edge
  absl::flat_hash_map<uint64_t, int32_t> edges_;
  std::vector<TokenId> node_token_;  // token ending at each node
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_SPECIAL_TOKENS_H_
