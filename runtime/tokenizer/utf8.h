// UTF-8 helpers shared by the tokenizers and the streaming decoder.
//
// Invalid input is never rejected: it is repaired the way the WHATWG Encoding
// Standard decodes UTF-8 (and JavaScript's TextDecoder does), replacing each
// "maximal subpart" of an ill-formed sequence with U+FFFD. A maximal subpart
// is the longest prefix of a well-formed sequence that the bytes start; a
// byte that cannot start or continue anything becomes one U+FFFD on its own.
// So "\xE2\x82" (a truncated euro sign) becomes one U+FFFD, and "\xC0\x80"
// (an overlong NUL) becomes two. Surrogates (ED A0..BF ..) and code points
// above U+10FFFF are ill-formed, exactly as WHATWG specifies.
#ifndef GGUFD_RUNTIME_TOKENIZER_UTF8_H_
#define GGUFD_RUNTIME_TOKENIZER_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ggufd::tokenizer {

inline constexpr char32_t kReplacementChar = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// Result of decoding one code point at the front of a byte string.
struct Utf8Decoded {
  char32_t code_point;  // kReplacementChar when !valid
  uint32_t length;      // bytes consumed (>= 1 unless input was empty)
  bool valid;
};

// Decodes the code point that starts `s` (which must be non-empty). For an
// ill-formed sequence, `length` is the size of its maximal subpart.
Utf8Decoded DecodeUtf8(std::string_view s);

// How many bytes of a possibly truncated sequence at the END of `s` could
// still become a valid character once more bytes arrive (0 when the tail is
// complete or already definitely invalid). Used by streaming decoders.
size_t IncompleteUtf8Tail(std::string_view s);

// True when `s` is entirely well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

// `s` with every maximal subpart of an ill-formed sequence replaced by
// U+FFFD. Well-formed input is returned unchanged. This is the one repair
// for text ggufd hands out: Detokenize's text and the generation stream
// (StreamingDecoder) both use it, and it gives what node-llama-cpp's
// detokenize gives (V8 decodes the addon's bytes the WHATWG way).
std::string SanitizeUtf8(std::string_view s);

// Appends the UTF-8 encoding of `cp` (which must be a scalar value).
void AppendUtf8(char32_t cp, std::string& out);

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_UTF8_H_
