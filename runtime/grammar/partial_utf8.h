// UTF-8 decoding as llama.cpp's grammar decodes token bytes, so that a
// constrained generation admits exactly the tokens llama.cpp admits:
// - a token may end inside a character; the bytes it left pending carry
//   over to the next token, whose first bytes must then be continuation
//   bytes (10xxxxxx);
// - inside one token, the bytes after a lead byte are taken as they come,
//   unchecked;
// - a continuation byte where a character should start, or a bad
//   carry-over, rejects the whole token;
// - lead bytes F8..FF count as four-byte leads.
#ifndef GGUFD_RUNTIME_GRAMMAR_PARTIAL_UTF8_H_
#define GGUFD_RUNTIME_GRAMMAR_PARTIAL_UTF8_H_

#include <cstdint>
#include <string_view>

namespace ggufd::grammar {

// A character begun but not finished.
struct PartialUtf8 {
  uint32_t value = 0;     // its bits so far
  int8_t remain = 0;      // continuation bytes still to come (0: none)
  bool in_token = false;  // begun inside the token being read (unchecked)

  friend bool operator==(const PartialUtf8&, const PartialUtf8&) = default;
};

// Continuation bytes that follow a lead byte, by its high nibble; -1 for a
// continuation byte, which cannot start a character.
inline int ContinuationBytes(uint8_t lead) {
  static constexpr int8_t kCount[16] = {0,  0,  0,  0,  0, 0, 0, 0,
                                        -1, -1, -1, -1, 1, 1, 2, 3};
  return kCount[lead >> 4];
}

// The bits a lead byte contributes (llama.cpp's mask for its length).
inline uint32_t LeadBits(uint8_t lead, int continuation) {
  return lead & ((1u << (7 - continuation)) - 1);
}

// What decoding `piece` after `start` gives, as llama.cpp decodes it: the
// number of whole characters, whether it is valid, and what is pending at
// its end (with in_token cleared: the next token checks its carry-over).
struct PieceDecoding {
  bool valid = true;
  int chars = 0;
  PartialUtf8 end;
};
PieceDecoding DecodePiece(std::string_view piece, PartialUtf8 start);

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_PARTIAL_UTF8_H_
