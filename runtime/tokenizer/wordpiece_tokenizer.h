// WordPiece (BERT) as llama.cpp's llm_tokenizer_wpm_session runs it: the text
// is normalized (each code point replaced by the first code point of its NFD
// decomposition and accents dropped when strip_accents, lower-cased when
// lowercase), split on whitespace, punctuation, ASCII symbols and CJK
// ideographs, and each word is covered greedily by the longest matching
// vocabulary entries. llama.cpp's GGUF convention marks a word-initial piece
// with a leading U+2581 instead of marking continuations with "##". A word
// that cannot be covered becomes [UNK].
#ifndef GGUFD_RUNTIME_TOKENIZER_WORDPIECE_TOKENIZER_H_
#define GGUFD_RUNTIME_TOKENIZER_WORDPIECE_TOKENIZER_H_

#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/vocab.h"

namespace ggufd::tokenizer {

class WordPieceTokenizer {
 public:
  // `vocab` must outlive the tokenizer.
  explicit WordPieceTokenizer(const Vocab& vocab) : vocab_(&vocab) {}

  // Appends the ids of `text` (well-formed UTF-8, no special tokens).
  void Encode(std::string_view text, std::vector<TokenId>& out) const;

 private:
  void EncodeWord(std::string_view word, std::string& buffer,
                  std::vector<TokenId>& out) const;

  const Vocab* vocab_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_WORDPIECE_TOKENIZER_H_
