// Matches generated text against a compiled grammar as it is produced, one
// token at a time, the way llama.cpp's grammar sampler does: the parse
// state is a set of pushdown stacks (each a way the text so far can
// continue), fed the text's code points from the tokens' UTF-8 bytes
// (a token may end inside a character).
//
// Unlike llama.cpp, the state is a number: stacks are interned
// (stack_pool.h), a state (a set of stacks and the pending part of a
// character) is interned too, and the state that follows a state and a
// byte is remembered. Checking a token is then a few table lookups per
// byte, and the allowed tokens of a state come from one walk of the
// vocabulary's trie (token_trie.h) in which shared prefixes are matched
// once; that set is kept per state, so a state seen again (inside a JSON
// string, say) costs nothing.
//
// Not thread-safe: one matcher per generation. The grammar and the trie it
// reads are shared and immutable.
#ifndef GGUFD_RUNTIME_GRAMMAR_MATCHER_H_
#define GGUFD_RUNTIME_GRAMMAR_MATCHER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/grammar/grammar.h"
#include "runtime/grammar/partial_utf8.h"
#include "runtime/grammar/stack_pool.h"
#include "runtime/grammar/token_trie.h"

namespace ggufd::grammar {

struct MatcherLimits {
  // Parse stacks alive at once; an ambiguous grammar past it fails the
  // generation (an error, never a runaway).
  size_t max_stacks = 4096;
  // Interned states held at once; more within one step fails it. The pools
  // are compacted between tokens once they hold half this.
  size_t max_states = 32768;
  // Sets of allowed tokens kept (a bit per vocabulary token each).
  size_t cached_masks = 128;
};

// Encodes token text to ids (the tokenizer's Encode with special tokens
// parsed and nothing added), for `<think>`-style token references.
using EncodeTokenText =
    std::function<absl::StatusOr<std::vector<int32_t>>(std::string_view)>;

// The id of each of grammar.token_refs: `<[id]>` must be inside the
// vocabulary, `<text>` must encode to exactly one token (as in llama.cpp).
absl::StatusOr<std::vector<int32_t>> ResolveTokenRefs(
    const Grammar& grammar, int32_t vocab_size, const EncodeTokenText& encode);

class Matcher {
 public:
  // `vocab` may be null for matching bytes only (no token references);
  // `token_ids` resolves grammar->token_refs (ResolveTokenRefs).
  static absl::StatusOr<std::unique_ptr<Matcher>> Create(
      std::shared_ptr<const Grammar> grammar,
      std::shared_ptr<const TokenTrie> vocab,
      std::vector<int32_t> token_ids = {}, MatcherLimits limits = {});

  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Whether `token` may come next. An end-of-generation token may come
  // only where the text is a whole sentence of the grammar.
  absl::StatusOr<bool> Allows(int32_t token);
  // Advances past `token`; FailedPrecondition when it is not allowed.
  // Accepting an end-of-generation token changes nothing.
  absl::Status Accept(int32_t token);

  // The same for raw text, as if it were one token (token references
  // never match it).
  absl::StatusOr<bool> AllowsBytes(std::string_view bytes);
  absl::Status AcceptBytes(std::string_view bytes);

  // The text so far is a whole sentence: generation may end here.
  bool CanEnd() const;
  // The text is a whole sentence and nothing more can follow.
  bool IsComplete() const;

  // One bit per vocabulary token, set for those allowed next (at most
  // vocab->mask_words() words); valid until the next call on the matcher.
  absl::StatusOr<const std::vector<uint64_t>*> AllowedTokens();
  // Sets the logit of every token not allowed to -inf; FailedPrecondition
  // when no token at all is allowed.
  absl::Status MaskLogits(absl::Span<float> logits);

  // Stacks alive now (for diagnostics and tests).
  size_t stack_count() const;

 private:
  static constexpr int32_t kDead = -2;
  static constexpr int32_t kUnknown = -1;

  struct State {
    std::vector<uint32_t> stacks;  // sorted
    PartialUtf8 partial;
    bool can_end = false;     // holds the empty stack
    bool has_chars = false;   // some stack has a character set on top
    bool has_tokens = false;  // some stack has a token element on top
    int8_t token_end = -1;    // a token may end here (-1: not yet known)
    int32_t mask = -1;        // index into masks_, or -1
    std::unique_ptr<std::array<int32_t, 256>> next;  // by byte, kUnknown
  };
  struct StateKey {
    std::vector<uint32_t> stacks;
    PartialUtf8 partial;
    friend bool operator==(const StateKey&, const StateKey&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const StateKey& k) {
      return H::combine(std::move(h), k.stacks, k.partial.value,
                        k.partial.remain, k.partial.in_token);
    }
  };

  Matcher(std::shared_ptr<const Grammar> grammar,
          std::shared_ptr<const TokenTrie> vocab, std::vector<int32_t> ids,
          MatcherLimits limits);

  // The state of `stacks` (sorted, unique) and `partial`; -1 (error_ set)
  // past the bounds.
  int32_t Intern(std::vector<uint32_t> stacks, PartialUtf8 partial);
  // The state after reading `byte` in `state`, or kDead.
  int32_t Next(int32_t state, uint8_t byte);
  int32_t ComputeNext(int32_t state, uint8_t byte);
  // The stacks that follow `stacks` on code point `c`; false on error.
  bool AdvanceChar(const std::vector<uint32_t>& stacks, uint32_t c,
                   std::vector<uint32_t>& out);
  // Whether the stacks may still take some character beginning with
  // `partial` (loose: used inside a token, to stop walking early).
  bool MayComplete(const State& state, PartialUtf8 partial) const;
  // Whether a token may end in `state` (llama.cpp's check of a pending
  // character at the end of a token).
  bool TokenMayEnd(int32_t state);
  // The state after `bytes` from the current one, or kDead.
  int32_t Walk(std::string_view bytes);
  bool TokenElementAllows(const Element& e, int32_t token) const;
  absl::Status ComputeMask(int32_t state, std::vector<uint64_t>& bits);
  absl::Status CheckError();
  // Rebuilds the pools around the current state when they have grown large.
  void MaybeCompact();

  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenTrie> vocab_;
  std::vector<int32_t> token_ids_;  // of grammar_->token_refs
  MatcherLimits limits_;
  StackPool pool_;
  std::vector<State> states_;
  absl::flat_hash_map<StateKey, int32_t> state_index_;
  int32_t current_ = 0;
  std::string error_;
  std::vector<std::vector<uint64_t>> masks_;
  std::vector<int32_t> mask_owner_;  // the state each mask belongs to
  uint64_t next_slot_ = 0;           // the mask slot to reuse next
  // Scratch.
  std::vector<uint32_t> scratch_;
  std::vector<int32_t> walk_;
};

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_MATCHER_H_
