#include "runtime/tokenizer/spm_tokenizer.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace ggufd::tokenizer {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581

// Heap order: the top is the highest score, then the leftmost pair.
bool LowerPriority(const SpmTokenizer::Bigram& a,
                   const SpmTokenizer::Bigram& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

size_t Utf8Length(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

}  // namespace

uint32_t SpmTokenizer::PackChar(std::string_view c) {
  uint32_t packed = 0;
  for (const char b : c) packed = (packed << 8) | static_cast<uint8_t>(b);
  return packed;
}

SpmTokenizer::SpmTokenizer(const Vocab& vocab) : vocab_(&vocab) {
  for (TokenId id = 0; id < vocab.size(); ++id) {
    const std::string_view text = vocab.text(id);
    uint32_t prev = 0;
    for (size_t i = 0; i < text.size();) {
      const size_t length =
          std::min(Utf8Length(static_cast<uint8_t>(text[i])), text.size() - i);
      const uint32_t c = PackChar(text.substr(i, length));
      if (i > 0) joinable_.insert((uint64_t{prev} << 32) | c);
      prev = c;
      i += length;
    }
  }
  for (int b = 0; b < 256; ++b) {
    TokenId id = vocab.Find(absl::StrFormat("<0x%02X>", b));
    if (id == kNoToken) {
      const char c = static_cast<char>(b);
      id = vocab.Find(std::string_view(&c, 1));
    }
    if (id == kNoToken) id = vocab.special().unk;
    byte_token_[b] = id;
  }
}

void SpmTokenizer::TryAddBigram(int32_t left, int32_t right,
                                Scratch& scratch) const {
  if (left < 0 || right < 0) return;
  const Symbol& l = scratch.symbols[left];
  const Symbol& r = scratch.symbols[right];
  const uint32_t length = l.length + r.length;
  if (length > vocab_->max_token_bytes()) return;
  const TokenId id =
      vocab_->Find(std::string_view(scratch.escaped).substr(l.begin, length));
  if (id == kNoToken) return;
  scratch.heap.push_back({vocab_->score(id), static_cast<uint32_t>(left),
                          static_cast<uint32_t>(right), length});
  std::push_heap(scratch.heap.begin(), scratch.heap.end(), LowerPriority);
}

void SpmTokenizer::Encode(std::string_view text, bool add_space_prefix,
                          Scratch& scratch, std::vector<TokenId>& out) const {
  std::string& escaped = scratch.escaped;
  escaped.clear();
  if (add_space_prefix) escaped.append(kSpaceMark);
  for (const char c : text) {
    if (c == ' ') {
      escaped.append(kSpaceMark);
    } else {
      escaped.push_back(c);
    }
  }
  if (escaped.empty()) return;

  std::vector<Symbol>& symbols = scratch.symbols;
  symbols.clear();
  for (size_t offset = 0; offset < escaped.size();) {
    const size_t length =
        std::min(Utf8Length(static_cast<uint8_t>(escaped[offset])),
                 escaped.size() - offset);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(offset),
                       static_cast<uint32_t>(length), index - 1, index + 1});
    offset += length;
  }
  symbols.back().next = -1;

  // Cut the symbol list where no token can span the boundary.
  const int32_t count = static_cast<int32_t>(symbols.size());
  int32_t begin = 0;
  uint32_t prev_char = 0;
  for (int32_t i = 0; i < count; ++i) {
    const uint32_t c = PackChar(
        std::string_view(escaped).substr(symbols[i].begin, symbols[i].length));
    if (i > begin && !joinable_.contains((uint64_t{prev_char} << 32) | c)) {
      EncodeSegment(begin, i, scratch, out);
      begin = i;
    }
    prev_char = c;
  }
  EncodeSegment(begin, count, scratch, out);
}

void SpmTokenizer::EncodeSegment(int32_t begin, int32_t end, Scratch& scratch,
                                 std::vector<TokenId>& out) const {
  std::vector<Symbol>& symbols = scratch.symbols;
  symbols[begin].prev = -1;
  symbols[end - 1].next = -1;
  scratch.heap.clear();
  for (int32_t i = begin + 1; i < end; ++i) TryAddBigram(i - 1, i, scratch);
  while (!scratch.heap.empty()) {
    std::pop_heap(scratch.heap.begin(), scratch.heap.end(), LowerPriority);
    const Bigram bigram = scratch.heap.back();
    scratch.heap.pop_back();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    // Stale when either side was merged since: lengths only grow, so a
    // matching total length means both symbols are unchanged.
    if (left.length == 0 || right.length == 0 ||
        left.length + right.length != bigram.length) {
      continue;
    }
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    TryAddBigram(left.prev, static_cast<int32_t>(bigram.left), scratch);
    TryAddBigram(static_cast<int32_t>(bigram.left), left.next, scratch);
  }

  const std::string_view escaped = scratch.escaped;
  for (int32_t i = begin; i >= 0; i = symbols[i].next) {
    const Symbol& symbol = symbols[i];
    const std::string_view piece = escaped.substr(symbol.begin, symbol.length);
    const TokenId id = vocab_->Find(piece);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (const char c : piece) {
      const TokenId byte = byte_token_[static_cast<uint8_t>(c)];
      if (byte != kNoToken) out.push_back(byte);
    }
  }
}

}  // namespace ggufd::tokenizer
