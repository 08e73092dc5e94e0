#include "runtime/tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/common/status_macros.h"

namespace ggufd::tokenizer {
namespace {

// llama.cpp's pre-tokenizer names, grouped by regex list, with the flags it
// sets for each (src/llama-vocab.cpp, llama_vocab::impl::load).
constexpr PreTokenizerInfo kPreTokenizers[] = {
    // name, kind, clean_spaces, ignore_merges, add_bos, no_bos
    {"default", PreTokenizerKind::kDefault, true, false, false, false},
    {"llama3", PreTokenizerKind::kLlama3, true, true, true, false},
    {"llama-v3", PreTokenizerKind::kLlama3, true, true, true, false},
    {"llama-bpe", PreTokenizerKind::kLlama3, true, true, true, false},
    {"falcon3", PreTokenizerKind::kLlama3, true, true, true, false},
    {"falcon-h1", PreTokenizerKind::kLlama3, true, true, true, false},
    {"pixtral", PreTokenizerKind::kLlama3, true, true, true, false},
    {"midm-2.0", PreTokenizerKind::kLlama3, true, true, true, false},
    {"lfm2", PreTokenizerKind::kLlama3, true, true, true, false},
    {"dbrx", PreTokenizerKind::kLlama3, true, false, false, false},
    {"smaug-bpe", PreTokenizerKind::kLlama3, true, false, false, false},
    {"glm4", PreTokenizerKind::kLlama3, true, false, false, true},
    {"chatglm-bpe", PreTokenizerKind::kLlama3, true, false, false, true},
    {"deepseek-llm", PreTokenizerKind::kDeepseekLlm, false, false, false,
     false},
    {"deepseek-coder", PreTokenizerKind::kDeepseekCoder, false, false, false,
     false},
    {"deepseek-v3", PreTokenizerKind::kDeepseek3, false, false, false, false},
    {"hunyuan-dense", PreTokenizerKind::kDeepseek3, false, false, false, false},
    {"falcon", PreTokenizerKind::kFalcon, true, false, false, false},
    {"starcoder", PreTokenizerKind::kStarcoder, true, false, false, false},
    {"refact", PreTokenizerKind::kStarcoder, true, false, false, false},
    {"command-r", PreTokenizerKind::kStarcoder, false, false, false, false},
    {"smollm", PreTokenizerKind::kStarcoder, false, false, false, false},
    {"codeshell", PreTokenizerKind::kStarcoder, true, false, false, false},
    {"exaone", PreTokenizerKind::kStarcoder, true, false, false, false},
    {"minerva-7b", PreTokenizerKind::kStarcoder, true, false, false, false},
    {"mellum2", PreTokenizerKind::kStarcoder, true, false, false, false},
    {"gpt-2", PreTokenizerKind::kGpt2, true, false, false, false},
    {"phi-2", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jina-es", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jina-de", PreTokenizerKind::kGpt2, true, false, false, false},
    {"gigachat", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jina-v2-es", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jina-v2-de", PreTokenizerKind::kGpt2, true, false, false, false},
    {"a.x-4.0", PreTokenizerKind::kGpt2, true, false, false, false},
    {"mellum", PreTokenizerKind::kGpt2, true, false, false, false},
    {"modern-bert", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jina-v1-en", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jina-v2-code", PreTokenizerKind::kGpt2, true, false, false, false},
    {"roberta-bpe", PreTokenizerKind::kGpt2, true, false, false, false},
    {"exaone4", PreTokenizerKind::kGpt2, true, false, false, false},
    {"mpt", PreTokenizerKind::kGpt2, true, false, false, false},
    {"olmo", PreTokenizerKind::kGpt2, true, false, false, false},
    {"jais", PreTokenizerKind::kGpt2, true, false, false, false},
    {"trillion", PreTokenizerKind::kGpt2, false, false, false, false},
    {"granite-docling", PreTokenizerKind::kGpt2, false, false, false, false},
    {"qwen2", PreTokenizerKind::kQwen2, false, false, false, false},
    {"deepseek-r1-qwen", PreTokenizerKind::kQwen2, false, false, false, false},
    {"kormo", PreTokenizerKind::kQwen2, false, false, false, false},
    {"f2llmv2", PreTokenizerKind::kQwen2, false, false, false, false},
    {"megrez", PreTokenizerKind::kQwen2, true, false, false, false},
    {"stablelm2", PreTokenizerKind::kQwen2, true, false, false, false},
    {"hunyuan", PreTokenizerKind::kQwen2, false, false, false, false},
    {"solar-open", PreTokenizerKind::kQwen2, false, false, false, false},
    {"grok-2", PreTokenizerKind::kQwen2, false, false, false, false},
    {"poro-chat", PreTokenizerKind::kPoro, false, false, false, false},
    {"bloom", PreTokenizerKind::kPoro, true, false, false, false},
    {"gpt3-finnish", PreTokenizerKind::kPoro, true, false, false, false},
    {"viking", PreTokenizerKind::kViking, false, false, false, false},
    {"tekken", PreTokenizerKind::kTekken, false, true, true, false},
    {"gpt-4o", PreTokenizerKind::kGpt4o, false, false, false, false},
    {"llama4", PreTokenizerKind::kGpt4o, false, false, false, false},
    {"kanana2", PreTokenizerKind::kGpt4o, false, false, false, false},
    {"seed-coder", PreTokenizerKind::kSeedCoder, false, false, false, false},
};

// The GPT-2 word regex, shared by several lists.
constexpr const char* kGpt2Words =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3Words =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Words =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kPoroWords =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";

// The regex lists, in application order.
std::vector<const char*> RegexesFor(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kDefault:
      return {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2Words, R"(\p{N}+)",
              "[0-9][0-9][0-9]"};
    case PreTokenizerKind::kLlama3:
      return {kLlama3Words};
    case PreTokenizerKind::kDeepseekLlm:
      return {
          "[\r\n]",
          R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)",
          R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
          R"(\s+$)",
          R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)",
          R"(\p{N}+)",
      };
    case PreTokenizerKind::kDeepseekCoder:
      return {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)",
              R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)",
              R"(\p{N})"};
    case PreTokenizerKind::kDeepseek3:
      return {
          R"(\p{N}{1,3})",
          R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
          R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
      };
    case PreTokenizerKind::kFalcon:
      return {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2Words, "[0-9][0-9][0-9]"};
    case PreTokenizerKind::kStarcoder:
      return {R"(\p{N})", kGpt2Words};
    case PreTokenizerKind::kGpt2:
      return {kGpt2Words};
    case PreTokenizerKind::kQwen2:
      return {kQwen2Words};
    case PreTokenizerKind::kPoro:
      return {kPoroWords};
    case PreTokenizerKind::kViking:
      return {kPoroWords, R"(\p{N})"};
    case PreTokenizerKind::kTekken:
      return {
          R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    case PreTokenizerKind::kGpt4o:
      return {
          R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    case PreTokenizerKind::kSeedCoder:
      return {
          R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  }
  return {};
}

// llama.cpp's whitespace set as the body of a character class.
constexpr std::string_view kWhitespaceClass =
    R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Rewrites `\s` / `\S` to the explicit whitespace class (see the header).
absl::StatusOr<std::string> RewriteWhitespace(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      ++i;
      if (e == 's') {
        if (in_class) {
          out.append(kWhitespaceClass);
        } else {
          out.append("[").append(kWhitespaceClass).append("]");
        }
      } else if (e == 'S') {
        if (in_class) {
          return absl::InternalError(
              "\\S inside a class in pre-tokenizer regex " +
              std::string(pattern));
        }
        out.append("[^").append(kWhitespaceClass).append("]");
      } else {
        out.push_back(c);
        out.push_back(e);
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
    } else if (c == ']' && in_class) {
      in_class = false;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

const PreTokenizerInfo* FindPreTokenizer(std::string_view name) {
  if (name.empty()) name = "default";
  for (const PreTokenizerInfo& info : kPreTokenizers) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

class PreTokenizer::Scratch {
 public:
  Scratch() {
    match_data_ = pcre2_match_data_create(16, nullptr);
    context_ = pcre2_match_context_create(nullptr);
    // Patterns with repeated groups (tekken, gpt-4o) use JIT stack per
    // repetition; 32 KiB, the default, would fail on long words.
    jit_stack_ = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
  }
  ~Scratch() {
    pcre2_jit_stack_free(jit_stack_);
    pcre2_match_context_free(context_);
    pcre2_match_data_free(match_data_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  pcre2_match_data* match_data_;
  pcre2_match_context* context_;
  pcre2_jit_stack* jit_stack_;
  std::vector<TextSpan> current_;
  std::vector<TextSpan> next_;
};

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

absl::StatusOr<PreTokenizer> PreTokenizer::Create(PreTokenizerKind kind) {
  PreTokenizer pre;
  for (const char* source : RegexesFor(kind)) {
    ASSIGN_OR_RETURN(std::string pattern, RewriteWhitespace(source));
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    auto regex = std::make_unique<Regex>();
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                                pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY,
                                &error, &error_offset, nullptr);
    if (regex->code == nullptr) {
      std::array<PCRE2_UCHAR, 256> message;
      pcre2_get_error_message(error, message.data(), message.size());
      return absl::InternalError(absl::StrCat(
          "pre-tokenizer regex does not compile at offset ", error_offset, ": ",
          reinterpret_cast<const char*>(message.data())));
    }
    // Without JIT (e.g. an unsupported CPU) the interpreter still works.
    regex->jit = pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE) == 0;
    pre.regexes_.push_back(std::move(regex));
  }
  return pre;
}

PreTokenizer::ScratchPtr PreTokenizer::NewScratch() const {
  return ScratchPtr(new Scratch());
}

void PreTokenizer::ScratchDeleter::operator()(Scratch* scratch) const {
  delete scratch;
}

absl::Status PreTokenizer::Split(std::string_view text, Scratch& scratch,
                                 std::vector<TextSpan>& words) const {
  if (text.size() >= UINT32_MAX) {
    return absl::InvalidArgumentError("text too long for the pre-tokenizer");
  }
  if (text.empty()) return absl::OkStatus();
  std::vector<TextSpan>& current = scratch.current_;
  std::vector<TextSpan>& next = scratch.next_;
  current.assign(1, TextSpan{0, static_cast<uint32_t>(text.size())});
  const auto* base = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.match_data_);
  for (const auto& regex : regexes_) {
    next.clear();
    for (const TextSpan span : current) {
      // The piece is the whole subject: lookarounds and `$` cannot see past
      // it, as with llama.cpp's per-piece std::regex_iterator.
      const PCRE2_SPTR subject = base + span.begin;
      const size_t length = span.end - span.begin;
      size_t offset = 0;
      size_t last = 0;
      while (offset < length) {
        const int rc =
            regex->jit ? pcre2_jit_match(regex->code, subject, length, offset,
                                         PCRE2_NO_UTF_CHECK,
                                         scratch.match_data_, scratch.context_)
                       : pcre2_match(regex->code, subject, length, offset,
                                     PCRE2_NO_UTF_CHECK, scratch.match_data_,
                                     scratch.context_);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          return absl::ResourceExhaustedError(
              absl::StrCat("pre-tokenizer regex failed (PCRE2 error ", rc,
                           ") on a ", length, "-byte piece"));
        }
        const size_t match_begin = ovector[0];
        const size_t match_end = ovector[1];
        if (match_end == match_begin) {
          // An empty match adds nothing; step over one character.
          offset = match_begin + 1;
          while (offset < length && (subject[offset] & 0xC0) == 0x80) ++offset;
          continue;
        }
        if (match_begin > last) {
          next.push_back({span.begin + static_cast<uint32_t>(last),
                          span.begin + static_cast<uint32_t>(match_begin)});
        }
        next.push_back({span.begin + static_cast<uint32_t>(match_begin),
                        span.begin + static_cast<uint32_t>(match_end)});
        last = offset = match_end;
      }
      if (last < length) {
        next.push_back({span.begin + static_cast<uint32_t>(last), span.end});
      }
    }
    current.swap(next);
  }
  words.insert(words.end(), current.begin(), current.end());
  return absl::OkStatus();
}

}  // namespace ggufd::tokenizer
