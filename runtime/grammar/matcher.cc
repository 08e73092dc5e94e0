#include "runtime/grammar/matcher.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"

namespace ggufd::grammar {
namespace {

// Stack nodes past which the pools are rebuilt around the current state
// between tokens (about 40 bytes each, with their indexes).
constexpr size_t kCompactNodes = size_t{1} << 20;

void SortUnique(std::vector<uint32_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool TestBit(const std::vector<uint64_t>& bits, int32_t i) {
  return (bits[static_cast<size_t>(i) / 64] >> (i % 64)) & 1;
}

void SetBit(std::vector<uint64_t>& bits, int32_t i) {
  bits[static_cast<size_t>(i) / 64] |= uint64_t{1} << (i % 64);
}

// Bytes up to the first NUL: llama.cpp reads token text as a C string.
std::string_view UpToNul(std::string_view bytes) {
  return bytes.substr(0, bytes.find('\0'));
}

}  // namespace

absl::StatusOr<std::vector<int32_t>> ResolveTokenRefs(
    const Grammar& grammar, int32_t vocab_size, const EncodeTokenText& encode) {
  std::vector<int32_t> ids;
  for (const TokenRef& ref : grammar.token_refs) {
    if (ref.id >= 0) {
      if (ref.id >= vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrFormat("token <[%d]> is outside the vocabulary of %d "
                            "tokens",
                            ref.id, vocab_size));
      }
      ids.push_back(static_cast<int32_t>(ref.id));
      continue;
    }
    if (!encode) {
      return absl::InvalidArgumentError(
          StrCat("token ", ref.text, " needs a vocabulary to be resolved"));
    }
    ASSIGN_OR_RETURN(std::vector<int32_t> encoded, encode(ref.text));
    if (encoded.size() != 1) {
      return absl::InvalidArgumentError(
          StrCat("token ", ref.text,
                 " is not one token of the model's vocabulary "
                 "(its text encodes to ",
                 encoded.size(), " tokens)"));
    }
    ids.push_back(encoded[0]);
  }
  return ids;
}

absl::StatusOr<std::unique_ptr<Matcher>> Matcher::Create(
    std::shared_ptr<const Grammar> grammar,
    std::shared_ptr<const TokenTrie> vocab, std::vector<int32_t> token_ids,
    MatcherLimits limits) {
  if (grammar == nullptr) return absl::InvalidArgumentError("no grammar");
  if (token_ids.size() != grammar->token_refs.size()) {
    return absl::InvalidArgumentError(
        "the grammar's token references are not resolved");
  }
  if (!grammar->token_refs.empty() && vocab == nullptr) {
    return absl::InvalidArgumentError(
        "a grammar with token references needs a vocabulary");
  }
  std::unique_ptr<Matcher> m(new Matcher(std::move(grammar), std::move(vocab),
                                         std::move(token_ids), limits));
  const Grammar& g = *m->grammar_;
  std::vector<uint32_t> stacks;
  for (uint32_t start : g.rules[g.root].alternatives) {
    const uint32_t s = g.elements[start].op == Op::kEnd
                           ? StackPool::kEmpty
                           : m->pool_.Push(StackPool::kEmpty, start);
    if (!m->pool_.Expand(s, stacks)) {
      return absl::ResourceExhaustedError(m->pool_.error());
    }
  }
  SortUnique(stacks);
  m->current_ = m->Intern(std::move(stacks), {});
  RETURN_IF_ERROR(m->CheckError());
  return m;
}

Matcher::Matcher(std::shared_ptr<const Grammar> grammar,
                 std::shared_ptr<const TokenTrie> vocab,
                 std::vector<int32_t> ids, MatcherLimits limits)
    : grammar_(std::move(grammar)),
      vocab_(std::move(vocab)),
      token_ids_(std::move(ids)),
      limits_(limits),
      pool_(*grammar_, limits.max_stacks) {}

absl::Status Matcher::CheckError() {
  if (error_.empty()) return absl::OkStatus();
  return absl::ResourceExhaustedError(error_);
}

int32_t Matcher::Intern(std::vector<uint32_t> stacks, PartialUtf8 partial) {
  if (!error_.empty()) return -1;
  if (stacks.size() > limits_.max_stacks) {
    error_ =
        StrCat("the grammar is too ambiguous here: more than ",
               limits_.max_stacks, " ways to parse the text are alive at once");
    return -1;
  }
  if (partial.remain == 0) partial = {};
  StateKey key{std::move(stacks), partial};
  if (auto it = state_index_.find(key); it != state_index_.end()) {
    return it->second;
  }
  if (states_.size() >= limits_.max_states) {
    error_ = StrCat("the grammar needs more than ", limits_.max_states,
                    " parser states for one token");
    return -1;
  }
  State state;
  state.stacks = key.stacks;
  state.partial = partial;
  for (uint32_t s : state.stacks) {
    if (s == StackPool::kEmpty) {
      // Not with half a character pending (llama.cpp would allow the end
      // there and leave broken UTF-8).
      state.can_end = partial.remain == 0;
      continue;
    }
    const Op op = pool_.top_element(s).op;
    if (op == Op::kChars) state.has_chars = true;
    if (op == Op::kToken || op == Op::kNotToken) state.has_tokens = true;
  }
  const int32_t id = static_cast<int32_t>(states_.size());
  states_.push_back(std::move(state));
  state_index_.emplace(std::move(key), id);
  return id;
}

bool Matcher::AdvanceChar(const std::vector<uint32_t>& stacks, uint32_t c,
                          std::vector<uint32_t>& out) {
  out.clear();
  for (uint32_t s : stacks) {
    if (s == StackPool::kEmpty) continue;
    const Element& e = pool_.top_element(s);
    if (e.op != Op::kChars || !grammar_->char_sets[e.arg].Matches(c)) {
      continue;
    }
    if (!pool_.Expand(pool_.AfterTop(s), out)) {
      error_ = pool_.error();
      return false;
    }
  }
  SortUnique(out);
  return true;
}

bool Matcher::MayComplete(const State& state, PartialUtf8 partial) const {
  const uint32_t low = partial.value << (6 * partial.remain);
  const uint32_t high = low | ((1u << (6 * partial.remain)) - 1);
  for (uint32_t s : state.stacks) {
    if (s == StackPool::kEmpty) continue;
    const Element& e = pool_.top_element(s);
    if (e.op != Op::kChars) continue;
    const CharSet& set = grammar_->char_sets[e.arg];
    // A negated set may still take some character of the range; the exact
    // check waits for the token's end (TokenMayEnd).
    if (set.negated || set.Overlaps(low, high)) return true;
  }
  return false;
}

int32_t Matcher::Next(int32_t state, uint8_t byte) {
  State& s = states_[state];
  if (s.next == nullptr) {
    s.next = std::make_unique<std::array<int32_t, 256>>();
    s.next->fill(kUnknown);
  }
  // The table lives on the heap: interning new states may move states_,
  // not it.
  std::array<int32_t, 256>& table = *s.next;
  if (table[byte] == kUnknown) table[byte] = ComputeNext(state, byte);
  return table[byte];
}

int32_t Matcher::ComputeNext(int32_t state, uint8_t byte) {
  const PartialUtf8 p = states_[state].partial;
  PartialUtf8 next;
  if (p.remain > 0) {
    // The carry-over from the previous token must be continuation bytes;
    // inside a token llama.cpp takes whatever follows a lead byte.
    if (!p.in_token && (byte >> 6) != 2) return kDead;
    next = {.value = (p.value << 6) | (byte & 0x3Fu),
            .remain = static_cast<int8_t>(p.remain - 1),
            .in_token = p.in_token};
  } else {
    const int more = ContinuationBytes(byte);
    if (more < 0) return kDead;
    next = {.value = LeadBits(byte, more),
            .remain = static_cast<int8_t>(more),
            .in_token = true};
  }
  if (next.remain == 0) {
    std::vector<uint32_t> stacks;
    if (!AdvanceChar(states_[state].stacks, next.value, stacks) ||
        stacks.empty()) {
      return kDead;
    }
    const int32_t id = Intern(std::move(stacks), {});
    return id < 0 ? kDead : id;
  }
  if (!MayComplete(states_[state], next)) return kDead;
  const int32_t id = Intern(states_[state].stacks, next);
  return id < 0 ? kDead : id;
}

bool Matcher::TokenMayEnd(int32_t state) {
  State& st = states_[state];
  if (st.token_end >= 0) return st.token_end != 0;
  const PartialUtf8 p = st.partial;
  bool ok = false;
  if (p.remain == 0) {
    ok = true;
  } else if (!(p.remain == 1 && p.value < 2)) {  // not an overlong 2-byte
    uint32_t low = p.value << (6 * p.remain);
    const uint32_t high = low | ((1u << (6 * p.remain)) - 1);
    if (low == 0) {
      if (p.remain == 2) low = 1u << 11;
      if (p.remain == 3) low = 1u << 16;
    }
    // As llama.cpp: a set may take the pending character when some range
    // overlaps what it can become; a negated set when none does.
    for (uint32_t s : st.stacks) {
      if (s == StackPool::kEmpty) continue;
      const Element& e = pool_.top_element(s);
      if (e.op != Op::kChars) continue;
      const CharSet& set = grammar_->char_sets[e.arg];
      if (set.Overlaps(low, high) != set.negated) {
        ok = true;
        break;
      }
    }
  }
  st.token_end = ok ? 1 : 0;
  return ok;
}

int32_t Matcher::Walk(std::string_view bytes) {
  int32_t s = current_;
  for (char c : UpToNul(bytes)) {
    s = Next(s, static_cast<uint8_t>(c));
    if (s == kDead) return kDead;
  }
  return s;
}

bool Matcher::TokenElementAllows(const Element& e, int32_t token) const {
  if (e.op == Op::kToken) return token_ids_[e.arg] == token;
  if (e.op == Op::kNotToken) return token_ids_[e.arg] != token;
  return false;
}

absl::StatusOr<bool> Matcher::Allows(int32_t token) {
  RETURN_IF_ERROR(CheckError());
  if (vocab_ == nullptr) return absl::InvalidArgumentError("no vocabulary");
  if (token < 0 || token >= vocab_->vocab_size()) {
    return absl::InvalidArgumentError(
        StrCat("token ", token, " is outside the vocabulary"));
  }
  if (vocab_->is_eog(token)) return CanEnd();
  const std::string_view piece = vocab_->piece(token);
  if (piece.empty()) return false;
  {
    const State& cur = states_[current_];
    if (cur.has_tokens) {
      const PieceDecoding d = DecodePiece(piece, cur.partial);
      if (d.valid && d.chars > 0) {
        for (uint32_t s : cur.stacks) {
          if (s != StackPool::kEmpty &&
              TokenElementAllows(pool_.top_element(s), token)) {
            return true;
          }
        }
      }
    }
  }
  const int32_t end = Walk(piece);
  RETURN_IF_ERROR(CheckError());
  return end != kDead && TokenMayEnd(end);
}

absl::Status Matcher::Accept(int32_t token) {
  RETURN_IF_ERROR(CheckError());
  if (vocab_ == nullptr) return absl::InvalidArgumentError("no vocabulary");
  if (token < 0 || token >= vocab_->vocab_size()) {
    return absl::InvalidArgumentError(
        StrCat("token ", token, " is outside the vocabulary"));
  }
  if (vocab_->is_eog(token)) {
    if (CanEnd()) return absl::OkStatus();
    return absl::FailedPreconditionError(
        StrCat("end-of-generation token ", token,
               " before the text is a whole sentence of the grammar"));
  }
  const std::string_view piece = vocab_->piece(token);
  std::vector<uint32_t> stacks;
  const PartialUtf8 start = states_[current_].partial;
  const PieceDecoding d = DecodePiece(piece, start);
  if (states_[current_].has_tokens && d.valid && d.chars > 0) {
    const std::vector<uint32_t> now = states_[current_].stacks;
    for (uint32_t s : now) {
      if (s == StackPool::kEmpty ||
          !TokenElementAllows(pool_.top_element(s), token)) {
        continue;
      }
      if (!pool_.Expand(pool_.AfterTop(s), stacks)) {
        error_ = pool_.error();
        return CheckError();
      }
    }
  }
  const int32_t end = piece.empty() ? kDead : Walk(piece);
  RETURN_IF_ERROR(CheckError());
  if (end != kDead && TokenMayEnd(end)) {
    const std::vector<uint32_t>& more = states_[end].stacks;
    stacks.insert(stacks.end(), more.begin(), more.end());
  }
  if (stacks.empty()) {
    return absl::FailedPreconditionError(
        StrCat("token ", token, " does not continue the grammar here"));
  }
  SortUnique(stacks);
  const int32_t next = Intern(std::move(stacks), d.end);
  RETURN_IF_ERROR(CheckError());
  current_ = next;
  MaybeCompact();
  return CheckError();
}

absl::StatusOr<bool> Matcher::AllowsBytes(std::string_view bytes) {
  RETURN_IF_ERROR(CheckError());
  const int32_t end = Walk(bytes);
  RETURN_IF_ERROR(CheckError());
  return end != kDead && TokenMayEnd(end);
}

absl::Status Matcher::AcceptBytes(std::string_view bytes) {
  RETURN_IF_ERROR(CheckError());
  const int32_t end = Walk(bytes);
  RETURN_IF_ERROR(CheckError());
  if (end == kDead || !TokenMayEnd(end)) {
    return absl::FailedPreconditionError(
        "the text does not continue the grammar here");
  }
  PartialUtf8 partial = states_[end].partial;
  partial.in_token = false;  // the next bytes check their carry-over
  const int32_t next = Intern(states_[end].stacks, partial);
  RETURN_IF_ERROR(CheckError());
  current_ = next;
  MaybeCompact();
  return CheckError();
}

bool Matcher::CanEnd() const { return states_[current_].can_end; }

bool Matcher::IsComplete() const {
  const State& s = states_[current_];
  return s.partial.remain == 0 && s.stacks.size() == 1 &&
         s.stacks[0] == StackPool::kEmpty;
}

size_t Matcher::stack_count() const { return states_[current_].stacks.size(); }

absl::StatusOr<const std::vector<uint64_t>*> Matcher::AllowedTokens() {
  RETURN_IF_ERROR(CheckError());
  if (vocab_ == nullptr) return absl::InvalidArgumentError("no vocabulary");
  if (const int32_t m = states_[current_].mask; m >= 0) return &masks_[m];
  size_t slot;
  if (masks_.size() < std::max<size_t>(1, limits_.cached_masks)) {
    slot = masks_.size();
    masks_.emplace_back();
    mask_owner_.push_back(-1);
  } else {
    // Full: reuse the slot after the one filled last, round robin.
    slot = (static_cast<size_t>(next_slot_++)) % masks_.size();
    if (mask_owner_[slot] >= 0) states_[mask_owner_[slot]].mask = -1;
    mask_owner_[slot] = -1;
  }
  RETURN_IF_ERROR(ComputeMask(current_, masks_[slot]));
  states_[current_].mask = static_cast<int32_t>(slot);
  mask_owner_[slot] = current_;
  return &masks_[slot];
}

absl::Status Matcher::ComputeMask(int32_t state, std::vector<uint64_t>& bits) {
  const TokenTrie& vocab = *vocab_;
  bits.assign(vocab.mask_words(), 0);
  // Copies: walking the trie interns states, which may move states_.
  const std::vector<uint32_t> stacks = states_[state].stacks;
  const PartialUtf8 partial = states_[state].partial;
  const bool has_chars = states_[state].has_chars;
  if (states_[state].can_end) {
    for (int32_t id : vocab.eog_ids()) SetBit(bits, id);
  }
  if (states_[state].has_tokens) {
    // Whether a token element may take `id`: llama.cpp wants the token's
    // bytes to start with at least one whole character.
    auto whole = [&](int32_t id) {
      if (partial.remain == 0) return TestBit(vocab.whole_char_tokens(), id);
      const PieceDecoding d = DecodePiece(vocab.piece(id), partial);
      return d.valid && d.chars > 0 && !vocab.is_eog(id);
    };
    for (uint32_t s : stacks) {
      if (s == StackPool::kEmpty) continue;
      const Element& e = pool_.top_element(s);
      if (e.op == Op::kToken) {
        const int32_t id = token_ids_[e.arg];
        if (!vocab.is_eog(id) && whole(id)) SetBit(bits, id);
      } else if (e.op == Op::kNotToken) {
        const int32_t except = token_ids_[e.arg];
        for (int32_t id = 0; id < vocab.vocab_size(); ++id) {
          if (id != except && !TestBit(bits, id) && whole(id)) {
            SetBit(bits, id);
          }
        }
      }
    }
  }
  if (!has_chars) return absl::OkStatus();
  // Depth-first over the trie: walk_[d] is the state after the first d
  // bytes of the current node's path; a dead state skips the subtree.
  walk_.assign(vocab.max_depth() + 1, kDead);
  walk_[0] = state;
  const std::vector<int32_t>& ids = vocab.token_ids();
  const size_t n = vocab.node_count();
  for (size_t i = 1; i < n;) {
    const uint32_t depth = vocab.depth(i);
    const int32_t next = Next(walk_[depth - 1], vocab.byte(i));
    if (next == kDead) {
      RETURN_IF_ERROR(CheckError());
      i = vocab.subtree_end(i);
      continue;
    }
    walk_[depth] = next;
    const uint32_t begin = vocab.tokens_begin(i);
    const uint32_t end = vocab.tokens_begin(i + 1);
    if (begin != end && TokenMayEnd(next)) {
      for (uint32_t k = begin; k < end; ++k) SetBit(bits, ids[k]);
    }
    ++i;
  }
  return CheckError();
}

absl::Status Matcher::MaskLogits(absl::Span<float> logits) {
  ASSIGN_OR_RETURN(const std::vector<uint64_t>* bits, AllowedTokens());
  if (logits.size() != static_cast<size_t>(vocab_->vocab_size())) {
    return absl::InvalidArgumentError(StrCat("got ", logits.size(),
                                             " logits for a vocabulary of ",
                                             vocab_->vocab_size()));
  }
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  size_t allowed = 0;
  for (size_t w = 0; w < bits->size(); ++w) {
    const uint64_t word = (*bits)[w];
    allowed += static_cast<size_t>(__builtin_popcountll(word));
    if (word == ~uint64_t{0}) continue;
    const size_t end = std::min(logits.size(), (w + 1) * 64);
    for (size_t i = w * 64; i < end; ++i) {
      if (((word >> (i - w * 64)) & 1) == 0) logits[i] = kBanned;
    }
  }
  if (allowed == 0) {
    return absl::FailedPreconditionError(
        "the grammar admits no token of the model's vocabulary here");
  }
  return absl::OkStatus();
}

void Matcher::MaybeCompact() {
  if (states_.size() < limits_.max_states / 2 && pool_.size() < kCompactNodes) {
    return;
  }
  const State& cur = states_[current_];
  std::vector<std::vector<uint32_t>> positions;
  for (uint32_t s : cur.stacks) positions.push_back(pool_.Positions(s));
  const PartialUtf8 partial = cur.partial;
  pool_.Clear();
  states_.clear();
  state_index_.clear();
  masks_.clear();
  mask_owner_.clear();
  std::vector<uint32_t> stacks;
  for (const auto& p : positions) stacks.push_back(pool_.FromPositions(p));
  SortUnique(stacks);
  current_ = Intern(std::move(stacks), partial);
}

}  // namespace ggufd::grammar
