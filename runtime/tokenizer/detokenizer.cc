#include "runtime/tokenizer/detokenizer.h"

#include "absl/strings/str_format.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/utf8.h"

namespace ggufd::tokenizer {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581

void AppendUnescapedSpaces(std::string_view text, std::string& out) {
  size_t pos = 0;
  while (true) {
    const size_t mark = text.find(kSpaceMark, pos);
    if (mark == std::string_view::npos) break;
    out.append(text.substr(pos, mark - pos));
    out.push_back(' ');
    pos = mark + kSpaceMark.size();
  }
  out.append(text.substr(pos));
}

// Inverts GPT-2's byte mapping; a code point outside it is rendered the way
// llama.cpp does ("[UNK_BYTE_0x..." + the token text + "]").
void AppendByteLevelDecoded(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size();) {
    const Utf8Decoded d = DecodeUtf8(text.substr(i));
    const int byte = d.valid ? CodePointToByte(d.code_point) : -1;
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
    } else {
      out.append("[UNK_BYTE_0x");
      for (size_t k = 0; k < d.length; ++k) {
        out.append(absl::StrFormat("%02x", static_cast<uint8_t>(text[i + k])));
      }
      out.append(text);
      out.push_back(']');
    }
    i += d.length;
  }
}

}  // namespace

TokenPieces::TokenPieces(const Vocab& vocab) : vocab_(&vocab) {
  offsets_.reserve(vocab.size() + 1);
  offsets_.push_back(0);
  std::string piece;
  for (TokenId id = 0; id < vocab.size(); ++id) {
    piece.clear();
    const std::string_view text = vocab.text(id);
    if (vocab.HasAttr(id, kAttrControl | kAttrUnknown | kAttrUserDefined)) {
      piece.assign(text);
    } else if (vocab.HasAttr(id, kAttrNormal)) {
      if (vocab.type() == VocabType::kBpe) {
        AppendByteLevelDecoded(text, piece);
      } else {
        AppendUnescapedSpaces(text, piece);
      }
    } else if (vocab.HasAttr(id, kAttrByte)) {
      const int byte = ByteTokenValue(text);
      if (byte >= 0) piece.push_back(static_cast<char>(byte));
    }
    // Undefined and unused tokens decode to nothing, as in llama.cpp.
    bytes_.insert(bytes_.end(), piece.begin(), piece.end());
    offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
  }
}

void CleanUpTokenizationSpaces(std::string& text) {
  if (text.size() < 2) return;
  // Pass 1: " ?", " !", " .", " ," lose the space.
  std::string out;
  out.reserve(text.size());
  out.push_back(text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (text[i - 1] == ' ' && (c == '?' || c == '!' || c == '.' || c == ',')) {
      out.pop_back();
    }
    out.push_back(c);
  }
  // Pass 2: " ' " (a lone apostrophe between spaces) becomes "'".
  text.swap(out);
  out.clear();
  if (!text.empty()) out.push_back(text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' && i + 1 < text.size() && text[i - 1] == ' ' &&
        text[i + 1] == ' ') {
      out.pop_back();
      out.push_back(c);
      // Skip the following space; llama.cpp also blanks it in place, so it
      // no longer counts as a space before the next character.
      text[++i] = '\0';
      continue;
    }
    out.push_back(c);
  }
  // Pass 3: contractions " 's", " 'm", " 're", " 've" lose the space.
  text.swap(out);
  out.clear();
  if (!text.empty()) out.push_back(text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (text[i - 1] == ' ' && c == '\'' && i + 1 < text.size()) {
      const char c1 = text[i + 1];
      const bool two = i + 2 < text.size();
      if (c1 == 's' || c1 == 'm' ||
          (two && ((c1 == 'r' && text[i + 2] == 'e') ||
                   (c1 == 'v' && text[i + 2] == 'e')))) {
        out.pop_back();
      }
    }
    out.push_back(c);
  }
  text.swap(out);
}

}  // namespace ggufd::tokenizer
