#include "runtime/grammar/partial_utf8.h"

namespace ggufd::grammar {

PieceDecoding DecodePiece(std::string_view piece, PartialUtf8 start) {
  PieceDecoding out;
  uint32_t value = start.value;
  int remain = start.remain;
  size_t pos = 0;
  // The carry-over from the previous token: continuation bytes only.
  while (pos < piece.size() && remain > 0) {
    const uint8_t b = static_cast<uint8_t>(piece[pos]);
    if ((b >> 6) != 2) {
      out.valid = false;
      return out;
    }
    value = (value << 6) | (b & 0x3F);
    ++pos;
    --remain;
  }
  if (start.remain > 0 && remain == 0) ++out.chars;
  while (pos < piece.size()) {
    const uint8_t lead = static_cast<uint8_t>(piece[pos]);
    remain = ContinuationBytes(lead);
    if (remain < 0) {
      out.valid = false;
      out.chars = 0;
      return out;
    }
    value = LeadBits(lead, remain);
    ++pos;
    while (pos < piece.size() && remain > 0) {
      value = (value << 6) | (static_cast<uint8_t>(piece[pos]) & 0x3F);
      ++pos;
      --remain;
    }
    if (remain == 0) ++out.chars;
  }
  if (remain > 0) {
    out.end = {.value = value,
               .remain = static_cast<int8_t>(remain),
               .in_token = false};
  }
  return out;
}

}  // namespace ggufd::grammar
