// Runtime::Embed: texts -> tokens -> forward passes that stop at the final
// norm (no logits) -> one pooled vector per text.
//
// Speed: texts are packed into batches of up to max_batch tokens (a text
// longer than that runs alone, in chunks), so a request of many short texts
// costs a few large matrix products rather than one small product per text.
// Packed texts sit side by side in a cache of their own; Forward's
// seq_start keeps each one attending only to itself with RoPE positions
// from 0. Packing never changes a bit of a text's vector: a token's float
// operations may depend on where it sits in a batch (a repacked weight's
// gemm takes groups of 4 tokens and its gemv the rest; a one-token batch
// attends with row dots), so texts are packed only where every token gets
// the kernels it would get alone, as llama.cpp evaluates it.
//
// Matching llama.cpp (node-llama-cpp's LlamaEmbeddingContext): texts are
// tokenized without parsing special-token text, BOS/EOS are added as the
// model's add_bos/add_eos say, attention is causal, and with no pooling key
// in the model llama.cpp pools nothing and hands out the last token's
// hidden state: that is kLast here.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/model/forward.h"
#include "runtime/model/kv_cache.h"
#include "runtime/runtime.h"
#include "runtime/runtime_state.h"
#include "runtime/tensor/isa.h"
#include "runtime/tensor/matmul.h"

namespace ggufd {
namespace {

// llama.cpp's enum llama_pooling_type, as {arch}.pooling_type stores it.
constexpr uint64_t kLlamaPoolingNone = 0;
constexpr uint64_t kLlamaPoolingMean = 1;
constexpr uint64_t kLlamaPoolingCls = 2;
constexpr uint64_t kLlamaPoolingLast = 3;
constexpr uint64_t kLlamaPoolingRank = 4;

// The pooling the model declares. None (the key's 0, and every generative
// model without the key) is what llama.cpp's embedding context answers with
// the last token's hidden state.
absl::StatusOr<Pooling> ModelPooling(const gguf::GgufFile& file,
                                     const std::string& arch) {
  const std::string key = StrCat(arch, ".pooling_type");
  auto value = file.GetUintOr(key, kLlamaPoolingNone);
  if (!value.ok()) {
    return MakeError(ErrorCode::kInvalidModel,
                     StrCat(key, ": ", value.status().message()));
  }
  switch (*value) {
    case kLlamaPoolingNone:
    case kLlamaPoolingLast:
      return Pooling::kLast;
    case kLlamaPoolingMean:
      return Pooling::kMean;
    case kLlamaPoolingCls:
      return Pooling::kCls;
    case kLlamaPoolingRank:
      return MakeError(ErrorCode::kUnsupportedModel,
                       StrCat(key,
                              " is 4 (rank): the model is a reranker, "
                              "which ggufd does not run"));
    default:
      return MakeError(ErrorCode::kInvalidModel,
                       StrCat(key, " is ", *value, ", not a pooling type"));
  }
}

// One text's tokens and where its vector accumulates.
struct Text {
  std::vector<TokenId> ids;
  bool truncated = false;
  std::vector<double> sum;  // over the rows pooling takes (mean: all)
};

// How the matrix products treat a token by its place in a batch, for every
// weight of the model: g when token t of an n-token product gets one set of
// kernels for t < n - n % g and another for the rest (1: the same wherever
// it is), or 0 when they follow no such rule (then nothing is packed).
int64_t TokenGroup(const model::ModelWeights& weights) {
  const tensor::Isa isa = tensor::BestIsa();
  auto same = [](const tensor::OutputKernel& a, const tensor::OutputKernel& b) {
    return a.dot == b.dot && a.from_float == b.from_float;
  };
  // The rule of one weight: g = 1 or kRepackGroupTokens, checked on every
  // token of products up to a few groups long.
  auto group_of = [&](const tensor::WeightView& w) -> int64_t {
    constexpr int64_t kGroup = tensor::kRepackGroupTokens;
    const tensor::OutputKernel alone = tensor::MatMulOutputKernel(w, 1, 0, isa);
    const tensor::OutputKernel grouped =
        tensor::MatMulOutputKernel(w, kGroup, 0, isa);
    const int64_t g = same(alone, grouped) ? 1 : kGroup;
    for (int64_t n = 1; n <= 3 * kGroup + 1; ++n) {
      for (int64_t t = 0; t < n; ++t) {
        const bool in_group = t < n - n % g;
        if (!same(tensor::MatMulOutputKernel(w, n, t, isa),
                  in_group ? grouped : alone)) {
          return 0;
        }
      }
    }
    return g;
  };
  int64_t group = 1;
  // Weights alike in type, shape and repacking get the same kernels.
  std::vector<const tensor::WeightView*> seen;
  for (const model::LayerWeights& layer : weights.layers) {
    for (const tensor::WeightView* w :
         {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.w_gate,
          &layer.w_up, &layer.w_down}) {
      const bool known =
          std::any_of(seen.begin(), seen.end(), [&](const auto* o) {
            return o->type == w->type && o->rows == w->rows &&
                   o->cols == w->cols && o->repackable == w->repackable;
          });
      if (known) continue;
      seen.push_back(w);
      const int64_t g = group_of(*w);
      if (g == 0 || (g > 1 && group > 1 && g != group)) return 0;
      group = std::max(group, g);
    }
  }
  return group;
}

// The texts one Forward call evaluates, in their order in the batch.
using Pack = std::vector<size_t>;

// Packs whose every token gets the kernels it would get alone (see the top
// of the file): texts whose length is a multiple of `group`, and at most
// one other text, last (its tail then falls where it would alone). A text
// of one token (attended with row dots alone), one longer than `limit`
// (chunked) and every text when group is 0 go alone.
std::vector<Pack> PackTexts(const std::vector<Text>& texts, int64_t limit,
                            int64_t group) {
  std::vector<Pack> packs;
  std::vector<size_t> aligned;
  std::vector<size_t> unaligned;
  for (size_t i = 0; i < texts.size(); ++i) {
    const int64_t n = static_cast<int64_t>(texts[i].ids.size());
    if (group == 0 || n == 1 || n > limit) {
      packs.push_back({i});
    } else {
      (n % group == 0 ? aligned : unaligned).push_back(i);
    }
  }
  auto length = [&](size_t i) {
    return static_cast<int64_t>(texts[i].ids.size());
  };
  size_t next = 0;  // the first aligned text not packed yet
  for (size_t last : unaligned) {
    Pack& pack = packs.emplace_back();
    int64_t tokens = length(last);
    while (next < aligned.size() && tokens + length(aligned[next]) <= limit) {
      tokens += length(aligned[next]);
      pack.push_back(aligned[next++]);
    }
    pack.push_back(last);
  }
  int64_t tokens = 0;
  bool open = false;
  for (; next < aligned.size(); ++next) {
    const int64_t n = length(aligned[next]);
    if (!open || tokens + n > limit) {
      packs.emplace_back();
      tokens = 0;
      open = true;
    }
    packs.back().push_back(aligned[next]);
    tokens += n;
  }
  return packs;
}

// Scales `v` to unit L2 norm, as llama.cpp's common_embd_normalize (norm 2)
// does; a zero vector stays zero.
void Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  const double norm = std::sqrt(sum);
  if (norm <= 0) return;
  for (float& x : v) x = static_cast<float>(x / norm);
}

}  // namespace

absl::StatusOr<EmbedResult> Runtime::Embed(const EmbedRequest& request,
                                           const CancelToken& cancel) {
  EntryGuard guard(*this);
  RETURN_IF_ERROR(CheckUsable());
  Loaded& loaded = *loaded_;
  const tokenizer::Tokenizer& tok = *loaded.tokenizer;
  const model::ModelConfig& config = loaded.model->config;

  // Validation: nothing runs until all of it has passed.
  if (request.texts.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "texts: there must be at least one text");
  }
  if (request.texts.size() > static_cast<size_t>(kMaxEmbedTexts)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StrCat("texts: at most ", kMaxEmbedTexts,
                            " texts per call, not ", request.texts.size()));
  }
  Pooling pooling = request.pooling;
  if (pooling == Pooling::kModel) {
    ASSIGN_OR_RETURN(pooling,
                     ModelPooling(*loaded.shared->model->file, config.arch));
  }
  int64_t limit = config.n_ctx;
  if (request.max_text_tokens > 0) {
    limit = std::min<int64_t>(limit, request.max_text_tokens);
  }
  std::vector<Text> texts(request.texts.size());
  int64_t total = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string& text = request.texts[i];
    // Tagged with the text's field, which the service names to clients.
    auto invalid = [i](ErrorCode code, std::string_view why) {
      return WithField(MakeError(code, StrCat("texts[", i, "]: ", why)),
                       StrCat("texts[", i, "]"));
    };
    // llama.cpp's embedding context answers an empty text with an empty
    // vector; there is nothing to embed.
    if (text.empty()) {
      return invalid(ErrorCode::kInvalidArgument, "the text is empty");
    }
    auto ids =
        tok.Encode(text, {.add_special = request.add_special.value_or(true),
                          .parse_special = false});
    if (!ids.ok()) {
      return invalid(ErrorCode::kInvalidArgument,
                     std::string(ids.status().message()));
    }
    if (ids->empty()) {
      return invalid(ErrorCode::kInvalidArgument, "the text has no tokens");
    }
    Text& t = texts[i];
    t.ids = std::move(*ids);
    if (static_cast<int64_t>(t.ids.size()) > limit) {
      if (!request.truncate) {
        return invalid(
            ErrorCode::kInvalidArgument,
            StrCat("the text has ", t.ids.size(), " tokens; at most ", limit,
                   " fit (truncate keeps the first ", limit, ")"));
      }
      t.ids.resize(limit);
      t.truncated = true;
    }
    total += static_cast<int64_t>(t.ids.size());
    if (total > kMaxEmbedTokens) {
      return WithField(
          MakeError(ErrorCode::kLimitExceeded,
                    StrCat("texts: more than ", kMaxEmbedTokens,
                           " tokens in one call (at texts[", i, "])")),
          "texts");
    }
  }
  if (cancel.cancelled()) {
    return MakeError(ErrorCode::kCancelled, "cancelled before the first text");
  }

  // A cache of this call's own in the run state for its duration: the
  // runtime's cache, which `cached` describes, is only moved aside and
  // back, so the next Generate still reuses its prefix. (The state's other
  // buffers are scratch that every Forward rewrites before reading.)
  model::KvCache own(config);
  std::swap(loaded.state->kv, own);
  struct SwapBack {
    model::KvCache& a;
    model::KvCache& b;
    ~SwapBack() { std::swap(a, b); }
  } swap_back{loaded.state->kv, own};

  const int n_embd = config.n_embd;
  const int64_t pack_limit =
      std::min<int64_t>(loaded.state->options.max_batch, config.n_ctx);
  std::vector<int32_t> input;
  std::vector<int32_t> seq_start;
  // Text of each input position, for the pooling callback.
  std::vector<int32_t> owner;
  const std::vector<Pack> packs =
      PackTexts(texts, pack_limit, TokenGroup(loaded.model->weights));
  size_t done = 0;
  for (const Pack& pack : packs) {
    if (cancel.cancelled()) {
      return MakeError(
          ErrorCode::kCancelled,
          StrCat("cancelled after ", done, " of ", texts.size(), " texts"));
    }
    input.clear();
    seq_start.clear();
    owner.clear();
    for (size_t i : pack) {
      const int32_t start = static_cast<int32_t>(input.size());
      input.insert(input.end(), texts[i].ids.begin(), texts[i].ids.end());
      seq_start.insert(seq_start.end(), texts[i].ids.size(), start);
      owner.insert(owner.end(), texts[i].ids.size(), static_cast<int32_t>(i));
      texts[i].sum.assign(n_embd, 0.0);
    }
    model::ForwardOptions options;
    options.cancelled = [&cancel] { return cancel.cancelled(); };
    // One sequence needs no starts (and stays the path Generate takes).
    if (pack.size() > 1) options.seq_start = seq_start;
    options.hidden = [&](int64_t first, int n, const float* rows) {
      for (int r = 0; r < n; ++r) {
        const int64_t at = first + r;
        const int32_t i = owner[at];
        const int64_t pos = at - seq_start[at];  // within its text
        const int64_t len = static_cast<int64_t>(texts[i].ids.size());
        const bool take = pooling == Pooling::kMean ||
                          (pooling == Pooling::kCls && pos == 0) ||
                          (pooling == Pooling::kLast && pos == len - 1);
        if (!take) continue;
        const float* row = rows + static_cast<size_t>(r) * n_embd;
        std::vector<double>& sum = texts[i].sum;
        for (int d = 0; d < n_embd; ++d) sum[d] += row[d];
      }
    };
    const absl::Status run =
        model::Forward(*loaded.model, *loaded.state, *loaded.pool, input,
                       /*n_past=*/0, options);
    if (absl::IsCancelled(run)) {
      return MakeError(
          ErrorCode::kCancelled,
          StrCat("cancelled after ", done, " of ", texts.size(), " texts"));
    }
    if (!run.ok()) {
      return MakeError(ErrorCode::kGenerationFailed,
                       StrCat("embedding failed: ", run.message()));
    }
    done += pack.size();
  }

  EmbedResult result;
  result.model = loaded.info.name;
  result.pooling = pooling;
  result.dimensions = n_embd;
  result.prompt_tokens = static_cast<int32_t>(total);
  result.embeddings.reserve(texts.size());
  for (Text& t : texts) {
    Embedding& e = result.embeddings.emplace_back();
    const double scale = pooling == Pooling::kMean
                             ? 1.0 / static_cast<double>(t.ids.size())
                             : 1.0;
    e.values.resize(n_embd);
    for (int d = 0; d < n_embd; ++d) {
      e.values[d] = static_cast<float>(t.sum[d] * scale);
    }
    if (request.normalize) Normalize(e.values);
    e.tokens = static_cast<int32_t>(t.ids.size());
    e.truncated = t.truncated;
  }
  return result;
}

}  // namespace ggufd
