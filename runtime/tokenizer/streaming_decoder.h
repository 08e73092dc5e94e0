// Turns the byte pieces of a token stream (Tokenizer::TokenToPiece) into
// text chunks that are always whole, valid UTF-8.
//
// A token's bytes may end inside a multi-byte character (byte-fallback and
// byte-level tokens do that for emoji and CJK). The decoder holds such a
// tail back until the character completes. A sequence that can no longer
// become valid is emitted as U+FFFD, one per maximal subpart (the WHATWG
// rule). Nothing is lost: the concatenated chunks plus Flush() equal
// SanitizeUtf8() of all the bytes pushed.
#ifndef GGUFD_RUNTIME_TOKENIZER_STREAMING_DECODER_H_
#define GGUFD_RUNTIME_TOKENIZER_STREAMING_DECODER_H_

#include <string>
#include <string_view>

namespace ggufd::tokenizer {

class StreamingDecoder {
 public:
  // Adds the bytes of one token; returns the text that became complete
  // (maybe empty).
  std::string Push(std::string_view bytes);

  // Returns whatever is held back (an unfinished character becomes U+FFFD)
  // and resets the decoder.
  std::string Flush();

  // Bytes currently held back (at most 3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_STREAMING_DECODER_H_
