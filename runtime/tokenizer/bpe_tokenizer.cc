#include "runtime/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <functional>

#include "runtime/common/status_macros.h"
#include "runtime/tokenizer/byte_level.h"

namespace ggufd::tokenizer {
namespace {

// Up to this many symbols a linear scan for the best pair beats a heap.
constexpr size_t kLinearScanMax = 48;

}  // namespace

absl::StatusOr<BpeTokenizer> BpeTokenizer::Create(const Vocab& vocab) {
  const PreTokenizerInfo* info = FindPreTokenizer(vocab.pre());
  if (info == nullptr) {
    return absl::UnimplementedError("unknown pre-tokenizer " + vocab.pre());
  }
  ASSIGN_OR_RETURN(PreTokenizer pre, PreTokenizer::Create(info->kind));
  BpeTokenizer bpe(vocab, std::move(pre));
  const auto& merges = vocab.merges();
  bpe.merges_.reserve(merges.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto [left, right] = merges[rank];
    joined.assign(vocab.text(left));
    joined.append(vocab.text(right));
    const TokenId result = vocab.Find(joined);  // checked by the vocabulary
    // The first (lowest-rank) occurrence of a pair wins, as in llama.cpp.
    bpe.merges_.try_emplace(
        PairKey(left, right),
        (uint64_t{rank} << 32) | static_cast<uint32_t>(result));
  }
  for (int b = 0; b < 256; ++b) {
    const std::string_view utf8 = ByteToUtf8(static_cast<uint8_t>(b));
    bpe.byte_symbol_[b] = vocab.Find(utf8);
    if (bpe.byte_symbol_[b] == kNoToken) {
      bpe.byte_symbol_[b] = MissingByteSymbol(static_cast<uint8_t>(b));
      for (char c : utf8) {
        const TokenId id = vocab.Find(std::string_view(&c, 1));
        if (id != kNoToken) bpe.byte_fallback_[b].push_back(id);
      }
    }
  }
  return bpe;
}

std::unique_ptr<BpeTokenizer::Scratch> BpeTokenizer::NewScratch() const {
  auto scratch = std::make_unique<Scratch>();
  scratch->pre = pre_.NewScratch();
  return scratch;
}

absl::Status BpeTokenizer::Encode(std::string_view text, Scratch& scratch,
                                  std::vector<TokenId>& out) const {
  scratch.words.clear();
  RETURN_IF_ERROR(pre_.Split(text, *scratch.pre, scratch.words));
  for (const TextSpan& word : scratch.words) {
    EncodeWord(text.substr(word.begin, word.end - word.begin), scratch, out);
  }
  return absl::OkStatus();
}

void BpeTokenizer::AppendSymbol(TokenId id, std::vector<TokenId>& out) const {
  if (id >= 0) {
    out.push_back(id);
  } else {
    const auto& fallback = byte_fallback_[MissingByte(id)];
    out.insert(out.end(), fallback.begin(), fallback.end());
  }
}

void BpeTokenizer::EncodeWord(std::string_view word, Scratch& scratch,
                              std::vector<TokenId>& out) const {
  const auto* bytes = reinterpret_cast<const uint8_t*>(word.data());
  const size_t n = word.size();
  if (n == 0) return;
  if (vocab_->flags().ignore_merges) {
    scratch.byte_level.clear();
    AppendByteLevel(word, scratch.byte_level);
    const TokenId whole = vocab_->Find(scratch.byte_level);
    if (whole != kNoToken) {
      out.push_back(whole);
      return;
    }
  }
  if (n == 1) {
    AppendSymbol(byte_symbol_[bytes[0]], out);
    return;
  }

  std::vector<TokenId>& ids = scratch.ids;
  ids.resize(n);
  for (size_t i = 0; i < n; ++i) ids[i] = byte_symbol_[bytes[i]];

  if (n <= kLinearScanMax) {
    // Symbols stay packed in ids[0..count) with the merge of each adjacent
    // pair cached in merges[]; each step merges the lowest rank, the
    // leftmost on ties - the order in which the heap below pops them.
    std::vector<uint64_t>& merges = scratch.heap;
    merges.resize(n);
    size_t count = n;
    for (size_t i = 0; i + 1 < count; ++i)
      merges[i] = Merge(ids[i], ids[i + 1]);
    while (count > 1) {
      const auto best =
          std::min_element(merges.begin(), merges.begin() + count - 1);
      if (*best == kNoMerge) break;
      const size_t pos = best - merges.begin();
      ids[pos] = static_cast<TokenId>(*best & 0xFFFFFFFF);
      std::copy(ids.begin() + pos + 2, ids.begin() + count,
                ids.begin() + pos + 1);
      if (pos + 2 < count) {
        std::copy(merges.begin() + pos + 2, merges.begin() + count - 1,
                  merges.begin() + pos + 1);
      }
      --count;
      if (pos > 0) merges[pos - 1] = Merge(ids[pos - 1], ids[pos]);
      if (pos + 1 < count) merges[pos] = Merge(ids[pos], ids[pos + 1]);
    }
    for (size_t i = 0; i < count; ++i) AppendSymbol(ids[i], out);
    return;
  }

  // Long word: doubly linked symbols and a min-heap of (rank << 32 | left).
  std::vector<int32_t>& prev = scratch.prev;
  std::vector<int32_t>& next = scratch.next;
  std::vector<uint64_t>& heap = scratch.heap;
  prev.resize(n);
  next.resize(n);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  heap.clear();
  auto push_pair = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    const uint64_t m = Merge(ids[left], ids[next[left]]);
    if (m == kNoMerge) return;
    heap.push_back((m >> 32 << 32) | static_cast<uint32_t>(left));
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (size_t i = 0; i + 1 < n; ++i) {
    const uint64_t m = Merge(ids[i], ids[i + 1]);
    if (m != kNoMerge) heap.push_back((m >> 32 << 32) | i);
  }
  std::make_heap(heap.begin(), heap.end(), std::greater<>());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto left = static_cast<int32_t>(top & 0xFFFFFFFF);
    const int32_t right = next[left];
    // Stale if the left symbol was merged away or its pair changed: ranks
    // identify pairs, and a symbol's id only ever grows longer, so an equal
    // rank means the very same pair.
    if (ids[left] == kDead || right < 0) continue;
    const uint64_t m = Merge(ids[left], ids[right]);
    if (m == kNoMerge || (m >> 32) != (top >> 32)) continue;
    ids[left] = static_cast<TokenId>(m & 0xFFFFFFFF);
    ids[right] = kDead;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    push_pair(prev[left]);
    push_pair(left);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) AppendSymbol(ids[i], out);
}

}  // namespace ggufd::tokenizer
