#include "runtime/tokenizer/byte_level.h"

#include <array>

#include "runtime/tokenizer/utf8.h"

namespace ggufd::tokenizer {
namespace {

constexpr bool MapsToItself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
         (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> code_point;
  std::array<std::string, 256> utf8;
  std::array<int16_t, 324> byte_of;  // code points < 256 + 68
};

const Tables& GetTables() {
  static const Tables* tables = [] {
    auto* t = new Tables();
    t->byte_of.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = MapsToItself(b) ? b : next++;
      t->code_point[b] = cp;
      AppendUtf8(cp, t->utf8[b]);
      t->byte_of[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return *tables;
}

}  // namespace

char32_t ByteToCodePoint(uint8_t b) { return GetTables().code_point[b]; }

std::string_view ByteToUtf8(uint8_t b) { return GetTables().utf8[b]; }

int CodePointToByte(char32_t cp) {
  const Tables& t = GetTables();
  return cp < t.byte_of.size() ? t.byte_of[cp] : -1;
}

void AppendByteLevel(std::string_view bytes, std::string& out) {
  const Tables& t = GetTables();
  for (const char c : bytes) out.append(t.utf8[static_cast<uint8_t>(c)]);
}

}  // namespace ggufd::tokenizer
