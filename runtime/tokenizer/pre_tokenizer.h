// The regex pre-tokenizer of byte-level BPE vocabularies, chosen by
// `tokenizer.ggml.pre`.
//
// Each pre-tokenizer is an ordered list of regexes, the lists llama.cpp uses
// (src/llama-vocab.cpp). They apply in sequence: the first splits the text,
// each later one splits every piece the previous left, and text between two
// matches stays a piece of its own (HF's "Isolated" split behaviour). Every
// regex runs with PCRE2 in UTF + UCP mode, JIT-compiled once.
//
// `\s` and `\S` are rewritten to llama.cpp's whitespace set (Unicode
// White_Space: tab..CR, space, U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000), because PCRE2's own `\s` differs
// in U+180E and that would change where words split. `$` matches only at the
// very end of a piece (PCRE2_DOLLAR_ENDONLY), as ECMAScript regexes do.
#ifndef GGUFD_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_
#define GGUFD_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ggufd::tokenizer {

// Which regex list a pre-tokenizer uses; several names share one list.
enum class PreTokenizerKind {
  kDefault,
  kLlama3,
  kDeepseekLlm,
  kDeepseekCoder,
  kDeepseek3,
  kFalcon,
  kStarcoder,
  kGpt2,
  kQwen2,
  kPoro,
  kViking,
  kTekken,
  kGpt4o,
  kSeedCoder,
};

// One accepted `tokenizer.ggml.pre` name and the vocabulary flags llama.cpp
// ties to it.
struct PreTokenizerInfo {
  std::string_view name;
  PreTokenizerKind kind;
  bool clean_spaces;   // HF clean_up_tokenization_spaces on decode
  bool ignore_merges;  // a word that is itself a token is not merged
  bool add_bos;        // BOS by default even without add_bos_token
  bool no_bos;         // the family has no BOS token at all
};

// The entry for `name`, or nullptr for a name ggufd does not know. The empty
// name (a file without the key) maps to "default", as in llama.cpp.
const PreTokenizerInfo* FindPreTokenizer(std::string_view name);

// A byte range [begin, end) of the text being split.
struct TextSpan {
  uint32_t begin;
  uint32_t end;
};

class PreTokenizer {
 public:
  // Per-call state: PCRE2 match data and a JIT stack. One per thread; reuse
  // it across calls to avoid allocations.
  class Scratch;
  struct ScratchDeleter {
    void operator()(Scratch* scratch) const;
  };
  using ScratchPtr = std::unique_ptr<Scratch, ScratchDeleter>;

  static absl::StatusOr<PreTokenizer> Create(PreTokenizerKind kind);

  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  ScratchPtr NewScratch() const;

  // Splits `text` (well-formed UTF-8, at most 4 GiB - 1) into words and
  // appends their spans to `words` in order. The spans cover the text.
  absl::Status Split(std::string_view text, Scratch& scratch,
                     std::vector<TextSpan>& words) const;

 private:
  struct Regex;
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace ggufd::tokenizer

#endif  // GGUFD_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_
