#include "runtime/tokenizer/wordpiece_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>

#include "runtime/tokenizer/unicode_class.h"
#include "runtime/tokenizer/utf8.h"

namespace ggufd::tokenizer {
namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // U+2581

// The CJK ranges BERT isolates as single-character words (HF's
// _is_chinese_char, with its 0x2B920 quirk that llama.cpp keeps).
bool IsChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// The first code point of the canonical decomposition of `cp`.
char32_t NfdFirst(char32_t cp) {
  utf8proc_int32_t buffer[8];
  int last_boundclass = 0;
  const utf8proc_ssize_t n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, 8,
                              UTF8PROC_DECOMPOSE, &last_boundclass);
  return n > 0 ? static_cast<char32_t>(buffer[0]) : cp;
}

}  // namespace

void WordPieceTokenizer::Encode(std::string_view text,
                                std::vector<TokenId>& out) const {
  const VocabFlags& flags = vocab_->flags();
  std::string word;
  std::string buffer;
  auto finish_word = [&] {
    if (!word.empty()) EncodeWord(word, buffer, out);
    word.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const Utf8Decoded d = DecodeUtf8(text.substr(i));
    i += d.length;
    char32_t cp = d.code_point;
    if (flags.strip_accents) cp = NfdFirst(cp);
    if (IsWhitespace(cp)) {
      finish_word();
      continue;
    }
    const UnicodeClass cls = ClassOf(cp);
    if (cp == 0 || cp == kReplacementChar || cls == UnicodeClass::kControl) {
      continue;
    }
    if (flags.strip_accents && cls == UnicodeClass::kMark) continue;
    const char32_t emitted = flags.lowercase
                                 ? static_cast<char32_t>(utf8proc_tolower(
                                       static_cast<utf8proc_int32_t>(cp)))
                                 : cp;
    if (cls == UnicodeClass::kPunctuation ||
        (cp < 0x7F && cls == UnicodeClass::kSymbol) || IsChineseChar(cp)) {
      finish_word();
      AppendUtf8(emitted, word);
      finish_word();
    } else {
      AppendUtf8(emitted, word);
    }
  }
  finish_word();
}

void WordPieceTokenizer::EncodeWord(std::string_view word, std::string& buffer,
                                    std::vector<TokenId>& out) const {
  buffer.assign(kWordStart);
  buffer.append(word);
  const std::string_view w = buffer;
  const size_t n = w.size();
  const size_t start = out.size();
  for (size_t i = 0; i < n;) {
    size_t j = std::min(n, i + vocab_->max_token_bytes());
    TokenId id = kNoToken;
    for (; j > i; --j) {
      id = vocab_->Find(w.substr(i, j - i));
      if (id != kNoToken) break;
    }
    if (id == kNoToken) {
      out.resize(start);  // the word cannot be covered
      break;
    }
    out.push_back(id);
    i = j;
  }
  if (out.size() == start && vocab_->special().unk != kNoToken) {
    out.push_back(vocab_->special().unk);
  }
}

}  // namespace ggufd::tokenizer
