// The vocabulary of a GGUF model: token texts, scores and attributes, the
// special token ids, the BPE merges, and the tokenizer flags (add BOS/EOS,
// dummy prefix, ...) with llama.cpp's defaults for each tokenizer model.
//
// Loading validates everything against the vocabulary and the GGUF spec:
// the element types of the tokenizer arrays (tokens and merges strings,
// scores f32 or i32, token types i32), array lengths, finite scores, token
// types 0..6, byte tokens spelled <0xHH>, duplicate texts, merges that name
// unknown tokens, special ids outside the vocabulary (-1 alone means none).
// A bad vocabulary is refused with a message naming the key, never accepted
// half-way.
#ifndef GGUFD_RUNTIME_TOKENIZER_VOCAB_H_
#define GGUFD_RUNTIME_TOKENIZER_VOCAB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"

namespace ggufd::tokenizer {

using TokenId = int32_t;
inline constexpr TokenId kNoToken = -1;

// `tokenizer.ggml.model`: which algorithm turns text into ids.
enum class VocabType {
  kSpm,  // "llama": SentencePiece BPE with byte fallback
  kBpe,  // "gpt2": byte-level BPE after a regex pre-tokenizer
  kWpm,  // "bert": WordPiece
};

// Token attributes as bit flags, derived from tokenizer.ggml.token_type the
// way llama.cpp does (its llama_token_attr values).
enum TokenAttr : uint16_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1 << 0,
  kAttrUnused = 1 << 1,
  kAttrNormal = 1 << 2,
  kAttrControl = 1 << 3,
  kAttrUserDefined = 1 << 4,
  kAttrByte = 1 << 5,
  kAttrLstrip = 1 << 7,  // special-token match eats whitespace on its left
  kAttrRstrip = 1 << 8,  // ... and on its right
};

struct SpecialTokens {
  TokenId bos = kNoToken;
  TokenId eos = kNoToken;
  TokenId eot = kNoToken;
  TokenId eom = kNoToken;
  TokenId unk = kNoToken;
  TokenId sep = kNoToken;
  TokenId pad = kNoToken;
  TokenId mask = kNoToken;
  TokenId linefeed = kNoToken;
  TokenId fim_pre = kNoToken;  // fill-in-the-middle markers
  TokenId fim_suf = kNoToken;
  TokenId fim_mid = kNoToken;
  TokenId fim_pad = kNoToken;
  TokenId fim_rep = kNoToken;
  TokenId fim_sep = kNoToken;
};

struct VocabFlags {
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;           // WordPiece appends [SEP]
  bool add_space_prefix = false;  // SentencePiece "dummy prefix"
  bool clean_spaces = false;      // HF clean_up_tokenization_spaces
  bool ignore_merges = false;     // BPE: a word that is a token stays whole
  bool lowercase = true;          // WordPiece normalizer
  bool strip_accents = true;
};

// The byte a byte token stands for: "<0xAB>" -> 0xAB, with upper-case hex
// digits as SentencePiece (and llama.cpp's byte_to_token) write them; -1
// for any other text. Loading refuses byte tokens whose text is not of
// this form.
int ByteTokenValue(std::string_view text);

class Vocab {
 public:
  static absl::StatusOr<Vocab> FromGguf(const gguf::GgufFile& file);

  VocabType type() const { return type_; }
  // tokenizer.ggml.pre, or "default" when the file has none.
  const std::string& pre() const { return pre_; }
  int32_t size() const { return static_cast<int32_t>(offsets_.size()) - 1; }
  bool Contains(TokenId id) const { return id >= 0 && id < size(); }

  std::string_view text(TokenId id) const {
    return std::string_view(texts_.data() + offsets_[id],
                            offsets_[id + 1] - offsets_[id]);
  }
  float score(TokenId id) const { return scores_[id]; }
  uint16_t attr(TokenId id) const { return attrs_[id]; }
  bool HasAttr(TokenId id, uint16_t mask) const {
    return (attrs_[id] & mask) != 0;
  }
  // The id whose text is exactly `text`, or kNoToken.
  TokenId Find(std::string_view text) const {
    auto it = index_.find(text);
    return it == index_.end() ? kNoToken : it->second;
  }
  size_t max_token_bytes() const { return max_token_bytes_; }

  const SpecialTokens& special() const { return special_; }
  const VocabFlags& flags() const { return flags_; }
  bool IsEog(TokenId id) const;

  // BPE merges in rank order (rank = index) as (left, right) token ids.
  const std::vector<std::pair<TokenId, TokenId>>& merges() const {
    return merges_;
  }
  // Control, user-defined and unknown tokens, longest text first (ties by
  // id): the order in which special-token text is split out of the input.
  const std::vector<TokenId>& special_by_length() const {
    return special_by_length_;
  }

  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;

 private:
  Vocab() = default;
  absl::Status LoadTokens(const gguf::GgufFile& file);
  absl::Status LoadMerges(const gguf::GgufFile& file);
  absl::Status LoadSpecialIds(const gguf::GgufFile& file);
  void DetectSpecialByText();
  void ApplyModelSpecificAttrs(std::string_view model_name);

  VocabType type_ = VocabType::kSpm;
  std::string pre_;
  // All token texts back to back; a vector so that moving the vocabulary
  // keeps the buffer that index_ points into.
  std::vector<char> texts_;
  std::vector<uint32_t> offsets_;  // [size + 1] into texts_
  std::vector<float> scores_;
  std::vector<uint16_t> attrs_;
  absl::flat_hash_map<std::string_view, TokenId> index_;  // views into texts_
  size_t max_token_bytes_ = 0;
  SpecialTokens special_;
  std::vector<TokenId> eog_;
  VocabFlags flags_;
  std::vector<std::pair<TokenId, TokenId>> merges_;
  std::vector<TokenId> special_by_length_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_VOCAB_H_
