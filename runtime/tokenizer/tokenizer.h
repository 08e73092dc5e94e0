// The tokenizer of a GGUF model: text to token ids and back, with
// llama.cpp's behaviour as the reference (SentencePiece with byte fallback
// and dummy prefix, byte-level BPE with per-model pre-tokenizers, WordPiece;
// special tokens; BOS/EOS from metadata).
//
// Input text that is not valid UTF-8 is repaired first: each maximal
// subpart of an ill-formed sequence becomes U+FFFD, as the WHATWG decoder
// (JavaScript's TextDecoder) does; SentencePiece then encodes the U+FFFD
// like any other character (byte fallback when it is not a token).
//
// A Tokenizer is immutable after FromGguf and safe to use from several
// threads at once; it does not refer to the GgufFile after loading.
#ifndef GGUFD_RUNTIME_TOKENIZER_TOKENIZER_H_
#define GGUFD_RUNTIME_TOKENIZER_TOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/vocab.h"

namespace ggufd::tokenizer {

struct EncodeOptions {
  // Add BOS / EOS (and WordPiece's [CLS] / [SEP]) as the model's metadata
  // asks.
  bool add_special = true;
  // Turn the text of control tokens ("<|im_start|>", "</s>") into those
  // tokens. User-defined tokens are split out either way.
  bool parse_special = false;
  // With parse_special: [begin, end) byte ranges of `text` that stay text
  // (chat message content), where control tokens are not matched, as if
  // parse_special were off there.
  absl::Span<const std::pair<size_t, size_t>> literal_spans;
};

struct DecodeOptions {
  // Drop a leading BOS and a trailing EOS when the model adds them.
  bool remove_special = false;
  // Render control tokens as their text instead of nothing.
  bool unparse_special = false;
};

// Longest input Encode accepts, in bytes.
inline constexpr size_t kMaxEncodeBytes = size_t{1} << 30;

class Tokenizer {
 public:
  static absl::StatusOr<Tokenizer> FromGguf(const gguf::GgufFile& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  absl::StatusOr<std::vector<TokenId>> Encode(
      std::string_view text, const EncodeOptions& options = {}) const;

  // The text of `ids` as raw bytes (possibly not valid UTF-8). Fails on an
  // id outside the vocabulary. For SentencePiece vocabularies the dummy
  // prefix space of the first token (after a leading BOS) is dropped, as
  // SentencePiece's decoder does; BPE and WordPiece vocabularies apply
  // clean_up_tokenization_spaces when the model asks for it.
  absl::StatusOr<std::string> Decode(absl::Span<const TokenId> ids,
                                     const DecodeOptions& options = {}) const;

  // The bytes one token contributes to decoded text (llama.cpp's
  // token_to_piece, possibly part of a UTF-8 character); empty for control
  // tokens unless `special`, and for an id outside the vocabulary.
  std::string_view TokenToPiece(TokenId id, bool special = false) const;

  // The token's text as stored in the vocabulary ("Ġhello", "▁the",
  // "<0x0A>"); empty for an id outside the vocabulary.
  std::string_view TokenText(TokenId id) const;

  TokenId bos() const;
  TokenId eos() const;
  TokenId eot() const;
  // Whether Encode with add_special puts BOS first.
  bool add_bos() const;
  bool IsControl(TokenId id) const;
  // True for tokens that end generation (EOS, EOT, <|im_end|>, ...).
  bool IsEog(TokenId id) const;
  // All such tokens, ascending.
  const std::vector<TokenId>& eog_ids() const;
  int32_t vocab_size() const;
  const Vocab& vocab() const;

 private:
  struct State;
  explicit Tokenizer(std::unique_ptr<State> state);

  // The state lives behind a pointer: its parts point at the vocabulary,
  // and a Tokenizer must stay movable.
  std::unique_ptr<State> state_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_TOKENIZER_H_
