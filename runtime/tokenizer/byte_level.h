// GPT-2's reversible byte <-> code point mapping ("bytes_to_unicode"), used
// by byte-level BPE vocabularies: printable Latin-1 bytes map to themselves,
// the other 68 bytes to U+0100.. in order, so every byte string becomes a
// printable text (a space is "Ġ", U+0120).
#ifndef GGUFD_RUNTIME_TOKENIZER_BYTE_LEVEL_H_
#define GGUFD_RUNTIME_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ggufd::tokenizer {

// The code point byte `b` maps to.
char32_t ByteToCodePoint(uint8_t b);

// The UTF-8 text of ByteToCodePoint(b) (2 bytes at most).
std::string_view ByteToUtf8(uint8_t b);

// The byte that maps to `cp`, or -1 when `cp` is not in the mapping.
int CodePointToByte(char32_t cp);

// Appends the byte-level text of `bytes` to `out`.
void AppendByteLevel(std::string_view bytes, std::string& out);

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_BYTE_LEVEL_H_
