#include "runtime/tokenizer/vocab.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/pre_tokenizer.h"

namespace ggufd::tokenizer {
namespace {

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kPreKey = "tokenizer.ggml.pre";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
constexpr const char* kTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type): 0 is
// UNDEFINED, 6 is BYTE; nothing else is defined.
constexpr int64_t kMaxTokenType = 6;
constexpr int64_t kByteTokenType = 6;

uint16_t AttrFromType(int64_t type) {
  switch (type) {
    case 1:
      return kAttrNormal;
    case 2:
      return kAttrUnknown;
    case 3:
      return kAttrControl;
    case 4:
      return kAttrUserDefined;
    case 5:
      return kAttrUnused;
    case 6:
      return kAttrByte;
    default:
      return kAttrUndefined;
  }
}

// `text` quoted and cut for an error message (token texts come from the
// file and may be long or binary).
std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 32;
  return StrCat("\"", absl::CHexEscape(ToAbsl(text.substr(0, kMax))),
                text.size() > kMax ? "\"..." : "\"");
}

// The GGUF spec fixes the element type of the tokenizer arrays; llama.cpp
// refuses others (and also takes i32 scores, which some converters write).
// Widening an unexpected type silently would read, say, u64 token types or
// f64 scores that llama.cpp would never load.
absl::Status CheckArrayType(const gguf::GgufFile& file, std::string_view key,
                            std::initializer_list<gguf::ValueType> allowed) {
  const gguf::GgufValue* v = file.Find(key);
  if (v == nullptr) return absl::OkStatus();
  std::string wanted;
  for (gguf::ValueType t : allowed) {
    if (v->type == gguf::ValueType::kArray && v->element_type == t) {
      return absl::OkStatus();
    }
    wanted =
        StrCat(wanted, wanted.empty() ? "" : " or ", gguf::ValueTypeName(t));
  }
  const std::string have =
      v->type == gguf::ValueType::kArray
          ? StrCat("an array of ", gguf::ValueTypeName(v->element_type))
          : StrCat("a scalar ", gguf::ValueTypeName(v->type));
  return absl::InvalidArgumentError(StrCat(key, " (at offset ", v->file_offset,
                                           ") is ", have,
                                           ", expected an array of ", wanted));
}

// Texts by which llama.cpp recognises special tokens that the converter did
// not mark (src/llama-vocab.cpp, "auto-detect special tokens by text"). The
// first text present in the vocabulary wins, in this order.
constexpr std::string_view kEotTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "<|end_of_text|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "[EOT]",
                                          "<｜end▁of▁sentence｜>",
                                          "<end_of_utterance>"};
constexpr std::string_view kEomTexts[] = {"<|eom_id|>"};
constexpr std::string_view kFimPreTexts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",    "<｜fim▁begin｜>",
    "<PRE>",          "▁<PRE>",       "<|code_prefix|>", "<|prefix|>"};
constexpr std::string_view kFimSufTexts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",    "<｜fim▁hole｜>",
    "<SUF>",          "▁<SUF>",       "<|code_suffix|>", "<|suffix|>"};
constexpr std::string_view kFimMidTexts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>",    "<｜fim▁end｜>",
    "<MID>",          "▁<MID>",       "<|code_middle|>", "<|middle|>"};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>",
                                             "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view kFimRepTexts[] = {
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};
// Tokens that end generation whatever the metadata says.
constexpr std::string_view kEogTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<|return|>",
                                          "<|call|>",
                                          "<|flush|>",
                                          "<|calls|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "</s>",
                                          "<|eom_id|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "[EOT]",
                                          "[EOS]",
                                          "<|end_of_text|>",
                                          "<end_of_utterance>",
                                          "<eos>",
                                          "<turn|>",
                                          "<|tool_response>",
                                          "<｜end▁of▁sentence｜>",
                                          "[e~["};

}  // namespace

absl::StatusOr<Vocab> Vocab::FromGguf(const gguf::GgufFile& file) {
  Vocab v;
  auto model_or = file.GetString(kModelKey);
  if (!model_or.ok()) {
    if (absl::IsNotFound(model_or.status())) {
      return absl::InvalidArgumentError(
          "the file has no tokenizer (tokenizer.ggml.model is missing)");
    }
    return model_or.status();
  }
  const std::string_view model = *model_or;
  ASSIGN_OR_RETURN(std::string_view pre, file.GetStringOr(kPreKey, ""));

  // Defaults per tokenizer model, as llama.cpp sets them before reading the
  // optional keys.
  SpecialTokens& sp = v.special_;
  VocabFlags& fl = v.flags_;
  v.pre_ = "default";
  if (model == "llama") {
    v.type_ = VocabType::kSpm;
    sp.bos = 1;
    sp.eos = 2;
    sp.unk = 0;
    fl.add_space_prefix = true;
    fl.add_bos = true;
  } else if (model == "bert") {
    v.type_ = VocabType::kWpm;
    sp.bos = 101;
    sp.unk = 100;
    sp.sep = 102;
    sp.pad = 0;
    sp.mask = 103;
    fl.clean_spaces = true;
    fl.add_bos = true;
    fl.add_sep = true;
  } else if (model == "gpt2") {
    v.type_ = VocabType::kBpe;
    sp.bos = 11;
    sp.eos = 11;
    const PreTokenizerInfo* info = FindPreTokenizer(pre);
    if (info == nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          "unknown pre-tokenizer '", std::string(pre), "' (", kPreKey, ")"));
    }
    v.pre_ = std::string(info->name);
    fl.clean_spaces = info->clean_spaces;
    fl.ignore_merges = info->ignore_merges;
    fl.add_bos = info->add_bos;
    if (info->no_bos) sp.bos = kNoToken;
  } else {
    return absl::UnimplementedError(absl::StrCat(
        "unsupported tokenizer model '", std::string(model), "' (", kModelKey,
        "); ggufd reads llama (SentencePiece), gpt2 (BPE) and "
        "bert (WordPiece)"));
  }
  ASSIGN_OR_RETURN(
      fl.add_space_prefix,
      file.GetBoolOr("tokenizer.ggml.add_space_prefix", fl.add_space_prefix));

  RETURN_IF_ERROR(v.LoadTokens(file));
  if (v.type_ == VocabType::kBpe) RETURN_IF_ERROR(v.LoadMerges(file));
  RETURN_IF_ERROR(v.LoadSpecialIds(file));

  ASSIGN_OR_RETURN(fl.add_bos,
                   file.GetBoolOr("tokenizer.ggml.add_bos_token", fl.add_bos));
  ASSIGN_OR_RETURN(fl.add_eos,
                   file.GetBoolOr("tokenizer.ggml.add_eos_token", fl.add_eos));
  ASSIGN_OR_RETURN(fl.add_sep,
                   file.GetBoolOr("tokenizer.ggml.add_sep_token", fl.add_sep));
  ASSIGN_OR_RETURN(fl.lowercase,
                   file.GetBoolOr("tokenizer.ggml.normalizer.lowercase", true));
  ASSIGN_OR_RETURN(
      fl.strip_accents,
      file.GetBoolOr("tokenizer.ggml.normalizer.strip_accents", fl.lowercase));
  // Encoding must not fail later for want of a token the flags require.
  if (fl.add_bos && sp.bos == kNoToken && v.type_ != VocabType::kWpm) {
    return absl::InvalidArgumentError(
        "the vocabulary asks for a BOS token (add_bos_token) but has none");
  }
  if (fl.add_eos && sp.eos == kNoToken) {
    return absl::InvalidArgumentError(
        "the vocabulary asks for an EOS token (add_eos_token) but has none");
  }
  if (v.type_ == VocabType::kWpm &&
      (sp.bos == kNoToken || sp.sep == kNoToken)) {
    return absl::InvalidArgumentError(
        "a WordPiece vocabulary needs [CLS] and [SEP] tokens");
  }

  switch (v.type_) {
    case VocabType::kSpm:
      sp.linefeed = v.Find("<0x0A>");
      if (sp.linefeed == kNoToken) sp.linefeed = v.Find("\n");
      break;
    case VocabType::kBpe:
      sp.linefeed = v.Find(ByteToUtf8('\n'));
      break;
    case VocabType::kWpm:
      sp.linefeed = sp.pad;
      break;
  }

  v.DetectSpecialByText();

  for (TokenId id = 0; id < v.size(); ++id) {
    if (v.HasAttr(id, kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      v.special_by_length_.push_back(id);
    }
  }
  std::stable_sort(v.special_by_length_.begin(), v.special_by_length_.end(),
                   [&v](TokenId a, TokenId b) {
                     return v.text(a).size() > v.text(b).size();
                   });

  ASSIGN_OR_RETURN(std::string_view name, file.GetStringOr("general.name", ""));
  v.ApplyModelSpecificAttrs(absl::AsciiStrToLower(std::string(name)));
  return v;
}

absl::Status Vocab::LoadTokens(const gguf::GgufFile& file) {
  auto tokens_or = file.GetStringArray(kTokensKey);
  if (!tokens_or.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read the vocabulary: ", tokens_or.status().message()));
  }
  const std::vector<std::string_view>& tokens = *tokens_or;
  if (tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kTokensKey, " is empty: the vocabulary has no tokens"));
  }
  if (tokens.size() >= static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kTokensKey, " has too many tokens (", tokens.size(), ")"));
  }
  const size_t n = tokens.size();

  if (file.Has(kScoresKey)) {
    RETURN_IF_ERROR(
        CheckArrayType(file, kScoresKey,
                       {gguf::ValueType::kFloat32, gguf::ValueType::kInt32}));
    auto scores_or = file.GetFloatArray(kScoresKey);
    if (!scores_or.ok()) return scores_or.status();
    if (scores_or->size() != n) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has %d entries for %d tokens", kScoresKey, scores_or->size(), n));
    }
    // Scores order the SentencePiece merges; a NaN would make that order
    // meaningless (and an infinity is no released vocabulary's score).
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite((*scores_or)[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat(kScoresKey, "[", i, "] = ", (*scores_or)[i],
                         " is not a finite number"));
      }
    }
    scores_ = std::move(*scores_or);
  } else {
    scores_.assign(n, 0.0f);
  }

  attrs_.assign(n, kAttrNormal);
  if (file.Has(kTypesKey)) {
    RETURN_IF_ERROR(CheckArrayType(file, kTypesKey, {gguf::ValueType::kInt32}));
    auto types_or = file.GetIntArray(kTypesKey);
    if (!types_or.ok()) return types_or.status();
    if (types_or->size() != n) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has %d entries for %d tokens", kTypesKey, types_or->size(), n));
    }
    for (size_t i = 0; i < n; ++i) {
      const int64_t type = (*types_or)[i];
      if (type < 0 || type > kMaxTokenType) {
        return absl::InvalidArgumentError(
            StrCat(kTypesKey, "[", i, "] = ", type,
                   " is not a token type (0 to ", kMaxTokenType, ")"));
      }
      // A byte token stands for the byte its text names; any other text
      // would decode to nothing (or, in llama.cpp, to garbage).
      if (type == kByteTokenType && ByteTokenValue(tokens[i]) < 0) {
        return absl::InvalidArgumentError(
            StrCat(kTokensKey, "[", i, "] is a byte token (", kTypesKey,
                   " = 6) but its text ", Quoted(tokens[i]), " is not <0xHH>"));
      }
      attrs_[i] = AttrFromType(type);
    }
  }

  // One buffer for all texts. An empty text gets llama.cpp's placeholder
  // "[EMPTY_<id>]" so that every token stays addressable by its text.
  std::vector<std::string> placeholders;
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += tokens[i].empty() ? 24 : tokens[i].size();
  }
  if (total >= UINT32_MAX) {
    return absl::InvalidArgumentError("the token texts exceed 4 GiB");
  }
  texts_.reserve(total);
  offsets_.reserve(n + 1);
  offsets_.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    std::string placeholder;
    std::string_view text = tokens[i];
    if (text.empty()) {
      placeholder = absl::StrCat("[EMPTY_", i, "]");
      text = placeholder;
    }
    texts_.insert(texts_.end(), text.begin(), text.end());
    offsets_.push_back(static_cast<uint32_t>(texts_.size()));
    max_token_bytes_ = std::max(max_token_bytes_, text.size());
  }
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<TokenId>(i);
    auto [it, inserted] = index_.emplace(text(id), id);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: tokens %d and %d have the same text", kTokensKey,
                          it->second, id));
    }
  }
  return absl::OkStatus();
}

absl::Status Vocab::LoadMerges(const gguf::GgufFile& file) {
  auto merges_or = file.GetStringArray(kMergesKey);
  if (!merges_or.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a BPE vocabulary needs merges: ", merges_or.status().message()));
  }
  merges_.reserve(merges_or->size());
  std::string joined;
  for (size_t i = 0; i < merges_or->size(); ++i) {
    const std::string_view merge = (*merges_or)[i];
    // The separator is the first space after the first byte, so a merge
    // whose left side is itself a space still parses (as in llama.cpp).
    const size_t space = merge.size() > 1 ? merge.find(' ', 1) : merge.npos;
    if (space == merge.npos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s[%d] is not two tokens separated by a space", kMergesKey, i));
    }
    const std::string_view left = merge.substr(0, space);
    const std::string_view right = merge.substr(space + 1);
    const TokenId l = Find(left);
    const TokenId r = Find(right);
    if (l == kNoToken || r == kNoToken) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s[%d] names a token that is not in the vocabulary", kMergesKey, i));
    }
    joined.assign(left);
    joined.append(right);
    if (Find(joined) == kNoToken) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s[%d] produces a token that is not in the vocabulary", kMergesKey,
          i));
    }
    merges_.emplace_back(l, r);
  }
  return absl::OkStatus();
}

absl::Status Vocab::LoadSpecialIds(const gguf::GgufFile& file) {
  const std::pair<std::string_view, TokenId*> keys[] = {
      {"tokenizer.ggml.bos_token_id", &special_.bos},
      {"tokenizer.ggml.eos_token_id", &special_.eos},
      {"tokenizer.ggml.eot_token_id", &special_.eot},
      {"tokenizer.ggml.eom_token_id", &special_.eom},
      {"tokenizer.ggml.unknown_token_id", &special_.unk},
      {"tokenizer.ggml.seperator_token_id", &special_.sep},
      {"tokenizer.ggml.padding_token_id", &special_.pad},
      {"tokenizer.ggml.mask_token_id", &special_.mask},
      {"tokenizer.ggml.fim_pre_token_id", &special_.fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", &special_.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &special_.fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", &special_.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &special_.fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &special_.fim_sep},
      {"tokenizer.ggml.prefix_token_id", &special_.fim_pre},
      {"tokenizer.ggml.suffix_token_id", &special_.fim_suf},
      {"tokenizer.ggml.middle_token_id", &special_.fim_mid},
  };
  for (const auto& [key, id] : keys) {
    // A default beyond a small vocabulary means "none", as in llama.cpp.
    if (*id != kNoToken && *id >= size()) *id = kNoToken;
    if (!file.Has(key)) continue;
    ASSIGN_OR_RETURN(const int64_t value, file.GetInt(key));
    // -1 (or its uint32 image) is the converters' way to say "none"; keep
    // the default then, as llama.cpp does for an id it cannot use.
    if (value == -1 || value == UINT32_MAX) continue;
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s = %d is negative (only -1 means no such token)",
                          std::string(key), value));
    }
    if (value >= size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s = %d is outside the vocabulary of %d tokens",
                          std::string(key), value, size()));
    }
    *id = static_cast<TokenId>(value);
  }
  return absl::OkStatus();
}

void Vocab::DetectSpecialByText() {
  auto make_control = [this](TokenId id) { attrs_[id] |= kAttrControl; };
  auto detect = [&](TokenId& slot, auto& texts) {
    if (slot != kNoToken) return;
    for (std::string_view t : texts) {
      const TokenId id = Find(t);
      if (id != kNoToken) {
        slot = id;
        make_control(id);
        return;
      }
    }
  };
  detect(special_.eot, kEotTexts);
  detect(special_.eom, kEomTexts);
  detect(special_.fim_pre, kFimPreTexts);
  detect(special_.fim_suf, kFimSufTexts);
  detect(special_.fim_mid, kFimMidTexts);
  detect(special_.fim_pad, kFimPadTexts);
  detect(special_.fim_rep, kFimRepTexts);
  detect(special_.fim_sep, kFimSepTexts);
  for (TokenId id : {special_.fim_pad, special_.fim_rep, special_.fim_sep}) {
    if (id != kNoToken) eog_.push_back(id);
  }

  // Control tokens named "unused..." are placeholders.
  for (TokenId id = 0; id < size(); ++id) {
    if (HasAttr(id, kAttrControl) &&
        text(id).find("unused") != std::string_view::npos) {
      attrs_[id] |= kAttrUnused;
    }
  }
  for (std::string_view t : kEogTexts) {
    const TokenId id = Find(t);
    if (id == kNoToken) continue;
    eog_.push_back(id);
    make_control(id);
  }
  // gpt-oss renders its channel markup even when special tokens are hidden.
  for (std::string_view t :
       {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const TokenId id = Find(t);
    if (id != kNoToken) attrs_[id] = kAttrUserDefined;
  }
  for (TokenId id : {special_.eos, special_.eot, special_.eom}) {
    if (id != kNoToken) eog_.push_back(id);
  }
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());

  // o200k_harmony / solar-open: "<|end|>" separates messages there, it does
  // not end generation.
  auto in_eog = [this](std::string_view t) {
    const TokenId id = Find(t);
    return id != kNoToken && IsEog(id);
  };
  const bool has_call = in_eog("<|call|>") || in_eog("<|calls|>");
  if (in_eog("<|end|>") && has_call &&
      (in_eog("<|return|>") || in_eog("<|flush|>"))) {
    const TokenId end = Find("<|end|>");
    eog_.erase(std::find(eog_.begin(), eog_.end(), end));
    attrs_[end] = kAttrUserDefined;
  }
}

void Vocab::ApplyModelSpecificAttrs(std::string_view model_name) {
  auto set = [this](std::string_view t, uint16_t attr, bool on) {
    const TokenId id = Find(t);
    if (id == kNoToken) return;
    attrs_[id] = on ? (attrs_[id] | attr) : (attrs_[id] & ~attr);
  };
  if (pre_.find("jina-v2-") != std::string::npos) {
    set("<mask>", kAttrLstrip, true);
  } else if (model_name.find("phi-3") != model_name.npos ||
             model_name.find("phi3") != model_name.npos) {
    // Phi-3's added tokens swallow the whitespace that follows them.
    for (TokenId id : special_by_length_) attrs_[id] |= kAttrRstrip;
    set("</s>", kAttrRstrip, true);
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) {
      set(t, kAttrRstrip, false);
    }
  } else if (model_name.find("modern-bert") != model_name.npos) {
    set("[MASK]", kAttrLstrip, true);
  }
}

int ByteTokenValue(std::string_view text) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') {
    return -1;
  }
  const int hi = hex(text[3]);
  const int lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

bool Vocab::IsEog(TokenId id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

}  // namespace ggufd::tokenizer
