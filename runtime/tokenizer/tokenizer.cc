#include "runtime/tokenizer/tokenizer.h"

#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "runtime/common/status_macros.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/detokenizer.h"
#include "runtime/tokenizer/special_tokens.h"
#include "runtime/tokenizer/spm_tokenizer.h"
#include "runtime/tokenizer/utf8.h"
#include "runtime/tokenizer/wordpiece_tokenizer.h"

namespace ggufd::tokenizer {

namespace {

// Reusable buffers of one Encode call.
struct EncodeScratch {
  std::vector<Fragment> fragments;
  SpmTokenizer::Scratch spm;
  std::unique_ptr<BpeTokenizer::Scratch> bpe;
};

}  // namespace

struct Tokenizer::State {
  explicit State(Vocab v)
      : vocab(std::move(v)), splitter(vocab), pieces(vocab) {}

  std::unique_ptr<EncodeScratch> AcquireScratch();
  void ReleaseScratch(std::unique_ptr<EncodeScratch> scratch);
  absl::Status EncodeText(std::string_view text, bool after_special,
                          EncodeScratch& scratch,
                          std::vector<TokenId>& out) const;

  Vocab vocab;
  SpecialTokenSplitter splitter;
  TokenPieces pieces;
  std::optional<SpmTokenizer> spm;
  std::optional<BpeTokenizer> bpe;
  std::optional<WordPieceTokenizer> wpm;
  std::vector<TokenId> eog_ids;

  // Scratch buffers reused across Encode calls, one per concurrent caller.
  absl::Mutex pool_mutex;
  std::vector<std::unique_ptr<EncodeScratch>> pool ABSL_GUARDED_BY(pool_mutex);
};

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<Tokenizer> Tokenizer::FromGguf(const gguf::GgufFile& file) {
  ASSIGN_OR_RETURN(Vocab vocab, Vocab::FromGguf(file));
  auto state = std::make_unique<State>(std::move(vocab));
  switch (state->vocab.type()) {
    case VocabType::kSpm:
      state->spm.emplace(state->vocab);
      break;
    case VocabType::kBpe: {
      ASSIGN_OR_RETURN(BpeTokenizer bpe, BpeTokenizer::Create(state->vocab));
      state->bpe.emplace(std::move(bpe));
      break;
    }
    case VocabType::kWpm:
      state->wpm.emplace(state->vocab);
      break;
  }
  for (TokenId id = 0; id < state->vocab.size(); ++id) {
    if (state->vocab.IsEog(id)) state->eog_ids.push_back(id);
  }
  return Tokenizer(std::move(state));
}

std::unique_ptr<EncodeScratch> Tokenizer::State::AcquireScratch() {
  {
    absl::MutexLock lock(&pool_mutex);
    if (!pool.empty()) {
      std::unique_ptr<EncodeScratch> scratch = std::move(pool.back());
      pool.pop_back();
      return scratch;
    }
  }
  auto scratch = std::make_unique<EncodeScratch>();
  if (bpe.has_value()) scratch->bpe = bpe->NewScratch();
  return scratch;
}

void Tokenizer::State::ReleaseScratch(std::unique_ptr<EncodeScratch> scratch) {
  // Do not keep the buffers of a huge input alive.
  if (scratch->spm.escaped.capacity() > (size_t{1} << 24) ||
      scratch->fragments.capacity() > (size_t{1} << 20)) {
    return;
  }
  absl::MutexLock lock(&pool_mutex);
  pool.push_back(std::move(scratch));
}

absl::Status Tokenizer::State::EncodeText(std::string_view text,
                                          bool after_special,
                                          EncodeScratch& scratch,
                                          std::vector<TokenId>& out) const {
  switch (vocab.type()) {
    case VocabType::kSpm:
      // SentencePiece's dummy prefix: a space before the text that starts
      // the input or follows a special token.
      spm->Encode(text, vocab.flags().add_space_prefix && after_special,
                  scratch.spm, out);
      return absl::OkStatus();
    case VocabType::kBpe:
      return bpe->Encode(text, *scratch.bpe, out);
    case VocabType::kWpm:
      wpm->Encode(text, out);
      return absl::OkStatus();
  }
  return absl::InternalError("unknown vocabulary type");
}

absl::StatusOr<std::vector<TokenId>> Tokenizer::Encode(
    std::string_view text, const EncodeOptions& options) const {
  if (text.size() > kMaxEncodeBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "text of %d bytes is longer than the %d bytes the tokenizer accepts",
        text.size(), kMaxEncodeBytes));
  }
  std::string repaired;
  if (!IsValidUtf8(text)) {
    repaired = SanitizeUtf8(text);
    text = repaired;
  }

  State& state = *state_;
  const VocabFlags& flags = state.vocab.flags();
  const SpecialTokens& special = state.vocab.special();
  const bool wordpiece = state.vocab.type() == VocabType::kWpm;
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  if (options.add_special && (flags.add_bos || wordpiece)) {
    out.push_back(special.bos);
  }

  std::unique_ptr<EncodeScratch> scratch = state.AcquireScratch();
  state.splitter.Partition(text, options.parse_special, options.literal_spans,
                           scratch->fragments);
  bool after_special = true;
  absl::Status status;
  for (const Fragment& fragment : scratch->fragments) {
    if (fragment.is_token()) {
      out.push_back(fragment.token);
      after_special = true;
      continue;
    }
    status = state.EncodeText(
        text.substr(fragment.begin, fragment.end - fragment.begin),
        after_special, *scratch, out);
    if (!status.ok()) break;
    after_special = false;
  }
  state.ReleaseScratch(std::move(scratch));
  RETURN_IF_ERROR(status);

  if (options.add_special) {
    if (wordpiece) {
      out.push_back(special.sep);
    } else if (flags.add_eos) {
      out.push_back(special.eos);
    }
  }
  return out;
}

std::string_view Tokenizer::TokenToPiece(TokenId id, bool special) const {
  if (!state_->vocab.Contains(id)) return {};
  return state_->pieces.Piece(id, special);
}

std::string_view Tokenizer::TokenText(TokenId id) const {
  if (!state_->vocab.Contains(id)) return {};
  return state_->vocab.text(id);
}

TokenId Tokenizer::bos() const { return state_->vocab.special().bos; }
TokenId Tokenizer::eos() const { return state_->vocab.special().eos; }
TokenId Tokenizer::eot() const { return state_->vocab.special().eot; }
bool Tokenizer::add_bos() const { return state_->vocab.flags().add_bos; }
bool Tokenizer::IsControl(TokenId id) const {
  return state_->vocab.Contains(id) && state_->vocab.HasAttr(id, kAttrControl);
}
bool Tokenizer::IsEog(TokenId id) const { return state_->vocab.IsEog(id); }
const std::vector<TokenId>& Tokenizer::eog_ids() const {
  return state_->eog_ids;
}
int32_t Tokenizer::vocab_size() const { return state_->vocab.size(); }
const Vocab& Tokenizer::vocab() const { return state_->vocab; }

absl::StatusOr<std::string> Tokenizer::Decode(
    absl::Span<const TokenId> ids, const DecodeOptions& options) const {
  const Vocab& vocab = state_->vocab;
  for (const TokenId id : ids) {
    if (!vocab.Contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("token id %d is outside the vocabulary of %d tokens",
                          id, vocab.size()));
    }
  }
  const VocabFlags& flags = vocab.flags();
  const TokenId bos = vocab.special().bos;
  size_t begin = 0;
  size_t end = ids.size();
  if (options.remove_special && flags.add_bos && end > 0 && ids[0] == bos) {
    begin = 1;
  }
  if (options.remove_special && flags.add_eos && end > begin &&
      ids[end - 1] == vocab.special().eos) {
    --end;
  }
  std::string text;
  bool remove_space = flags.add_space_prefix;
  for (size_t i = begin; i < end; ++i) {
    std::string_view piece =
        state_->pieces.Piece(ids[i], options.unparse_special);
    if (remove_space) {
      // The dummy prefix belongs to the first token after a leading BOS.
      if (i == 0 && ids[i] == bos) {
        text.append(piece);
        continue;
      }
      if (!piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
      remove_space = false;
    }
    text.append(piece);
  }
  if (flags.clean_spaces) CleanUpTokenizationSpaces(text);
  return text;
}

}  // namespace ggufd::tokenizer
