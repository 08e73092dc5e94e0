// Unicode properties the tokenizers need, with llama.cpp's definitions: its
// whitespace set (Unicode White_Space) and its coarse general categories.
#ifndef GGUFD_RUNTIME_TOKENIZER_UNICODE_CLASS_H_
#define GGUFD_RUNTIME_TOKENIZER_UNICODE_CLASS_H_

namespace ggufd::tokenizer {

enum class UnicodeClass {
  kUndefined,    // Cn (unassigned)
  kNumber,       // N*
  kLetter,       // L*
  kSeparator,    // Z*
  kMark,         // M*
  kPunctuation,  // P*
  kSymbol,       // S*
  kControl,      // Cc, Cf, Cs, Co
};

UnicodeClass ClassOf(char32_t cp);

// U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
// U+2029, U+202F, U+205F, U+3000.
bool IsWhitespace(char32_t cp);

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_UNICODE_CLASS_H_
