// Token ids back to bytes, with llama.cpp's rules (token_to_piece and
// detokenize in src/llama-vocab.cpp):
//   - SentencePiece / WordPiece: U+2581 becomes a space, <0xXX> byte tokens
//     become the raw byte;
//   - byte-level BPE: GPT-2's byte mapping is inverted;
//   - control and unknown tokens produce their text only when special
//     tokens are rendered, user-defined tokens always produce their text.
// Decoded text is raw bytes: a piece may end inside a UTF-8 character.
#ifndef GGUFD_RUNTIME_TOKENIZER_DETOKENIZER_H_
#define GGUFD_RUNTIME_TOKENIZER_DETOKENIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/vocab.h"

namespace ggufd::tokenizer {

// The decoded bytes of every token, computed once at load.
class TokenPieces {
 public:
  explicit TokenPieces(const Vocab& vocab);

  // What token `id` (which must be in the vocabulary) contributes to the
  // text; control and unknown tokens contribute nothing unless `special`.
  std::string_view Piece(TokenId id, bool special) const {
    if (!special && vocab_->HasAttr(id, kAttrControl | kAttrUnknown)) {
      return {};
    }
    return std::string_view(bytes_.data() + offsets_[id],
                            offsets_[id + 1] - offsets_[id]);
  }

 private:
  const Vocab* vocab_;
  std::vector<char> bytes_;
  std::vector<uint32_t> offsets_;  // [size + 1]
};

// HF's clean_up_tokenization_spaces as llama.cpp applies it: drops the space
// before ? ! . , and before 's 'm 're 've, and the spaces around a lone '.
void CleanUpTokenizationSpaces(std::string& text);

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_DETOKENIZER_H_
