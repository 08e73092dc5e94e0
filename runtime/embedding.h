// What Runtime::Embed is asked and what it answers: one vector per text,
// pooled from the final-norm hidden states of the text's tokens, as
// llama.cpp's embedding context computes them for the same model.
#ifndef GGUFD_RUNTIME_EMBEDDING_H_
#define GGUFD_RUNTIME_EMBEDDING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ggufd {

// How the hidden states of a text's tokens become one vector.
enum class Pooling {
  kModel,  // what the model declares ({arch}.pooling_type), else kLast
  kMean,   // the average over all tokens
  kLast,   // the last token's (what a causal model has seen all of)
  kCls,    // the first token's
};

// Most texts one Embed call takes.
inline constexpr int kMaxEmbedTexts = 256;
// Most tokens one Embed call evaluates over all its texts (after any
// truncation): it bounds the time one call holds the runtime.
inline constexpr int64_t kMaxEmbedTokens = int64_t{1} << 18;

struct EmbedRequest {
  std::vector<std::string> texts;
  Pooling pooling = Pooling::kModel;
  // Scale each vector to unit L2 norm (a zero vector stays zero).
  bool normalize = true;
  // A text with more tokens than the limit below: false fails the call,
  // true keeps its first tokens that fit and marks it truncated.
  bool truncate = false;
  // Add BOS / EOS as the model's metadata says (add_bos, add_eos);
  // nullopt = true, as llama.cpp's embedding context does.
  std::optional<bool> add_special;
  // Most tokens per text besides the context length (a server limit);
  // 0 = the context alone.
  int32_t max_text_tokens = 0;
};

struct Embedding {
  std::vector<float> values;
  int32_t tokens = 0;  // evaluated, after any truncation
  bool truncated = false;
};

struct EmbedResult {
  std::vector<Embedding> embeddings;  // one per text, in order
  std::string model;                  // general.name (or file name)
  Pooling pooling = Pooling::kLast;   // the pooling applied (never kModel)
  int32_t dimensions = 0;
  int32_t prompt_tokens = 0;  // over all texts
};

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_EMBEDDING_H_
