#include "runtime/tokenizer/utf8.h"

namespace ggufd::tokenizer {
namespace {

// Table 3-7 of the Unicode Standard ("well-formed UTF-8 byte sequences"):
// the allowed range of the second byte depends on the lead byte; later
// continuation bytes are always 80..BF.
struct LeadInfo {
  uint8_t length;  // 0 = cannot start a sequence
  uint8_t lo;      // allowed range of the second byte
  uint8_t hi;
};

constexpr LeadInfo Lead(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

Utf8Decoded DecodeUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t b0 = p[0];
  if (b0 < 0x80) return {b0, 1, true};
  const LeadInfo lead = Lead(b0);
  if (lead.length == 0) return {kReplacementChar, 1, false};
  char32_t cp = b0 & (0xFF >> (lead.length + 1));
  for (uint32_t i = 1; i < lead.length; ++i) {
    const uint8_t lo = i == 1 ? lead.lo : 0x80;
    const uint8_t hi = i == 1 ? lead.hi : 0xBF;
    if (i >= s.size() || p[i] < lo || p[i] > hi) {
      return {kReplacementChar, i, false};
    }
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  return {cp, lead.length, true};
}

size_t IncompleteUtf8Tail(std::string_view s) {
  // A truncated sequence is at most 3 bytes long; find the last lead byte.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(s[n - back]);
    if (b >= 0x80 && b < 0xC0) continue;  // continuation byte, keep looking
    const LeadInfo lead = Lead(b);
    if (lead.length <= back) return 0;  // ASCII, invalid, or complete
    // Check that the bytes so far are a valid prefix.
    const Utf8Decoded d = DecodeUtf8(s.substr(n - back));
    return d.length == back ? back : 0;
  }
  return 0;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII runs dominate real text: skip 8 bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= s.size()) break;
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Decoded d = DecodeUtf8(s.substr(i));
    if (!d.valid) return false;
    i += d.length;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const Utf8Decoded d = DecodeUtf8(s.substr(i));
    if (d.valid) {
      out.append(s.data() + i, d.length);
    } else {
      out.append(kReplacementUtf8);
    }
    i += d.length;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace ggufd::tokenizer
