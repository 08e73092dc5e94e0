// Runtime::Embed on real models: pooling (what causal attention implies
// about each kind), the model's pooling key, normalization, truncation,
// validation without side effects, cancellation, packing that changes no
// bit of any vector, and a runtime whose cached prefix and sessions are as
// they were afterwards. (Agreement with llama.cpp itself is checked by
// tests/e2e/test_embeddings_reference.py.)
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/runtime.h"

namespace ggufd {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kStories =
    std::string(GGUFD_TESTDATA_DIR) + "/models/stories260K.gguf";
const std::string kSmolLm =
    std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
const std::string kGemma3 =
    std::string(GGUFD_MODELS_DIR) + "/gemma-3-270m-q4_k_m.gguf";

// Records the events of a generation.
class Sink : public GenerationSink {
 public:
  void OnStarted(const StartedEvent& e) override { started = e; }
  void OnProgress(const ProgressEvent&) override {}
  void OnToken(const TokenEvent&) override {}
  void OnFinished(const FinishedEvent&) override {}
  StartedEvent started;
};

GenerateRequest Greedy(std::string prompt, int max_tokens,
                       std::string session = "") {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.session_id = std::move(session);
  r.sampling = sampling::SamplingOverrides{.temperature = 0.0f};
  r.stopping = StoppingOverrides{.max_tokens = max_tokens, .ignore_eos = true};
  return r;
}

EmbedRequest Texts(std::vector<std::string> texts,
                   Pooling pooling = Pooling::kModel, bool normalize = true) {
  EmbedRequest r;
  r.texts = std::move(texts);
  r.pooling = pooling;
  r.normalize = normalize;
  return r;
}

double Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

// A varied set: short and long, one token, unicode, code, special-token
// text (which stays text).
std::vector<std::string> VariedTexts() {
  std::string long_text;
  for (int i = 0; i < 60; ++i) {
    long_text += "Sentence " + std::to_string(i) + " is about the weather. ";
  }
  return {"Hello world",
          "a",
          "The quick brown fox jumps over the lazy dog.",
          "Ünïcödé: naïve café, 日本語, emoji 🙂, русский.",
          "def f(x):\n    return x * 2\n",
          "<|im_start|>user\nliteral<|im_end|>",
          long_text,
          "Short.",
          "Once upon a time there was a little cat who liked to play."};
}

class EmbedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(runtime_.Load(kStories, {.threads = 1}).ok());
  }
  absl::StatusOr<EmbedResult> Embed(const EmbedRequest& request) {
    return runtime_.Embed(request, cancel_);
  }
  Runtime runtime_;
  CancelToken cancel_;
};

TEST_F(EmbedTest, OneUnitVectorPerTextInOrder) {
  const std::vector<std::string> texts = {"Once upon a time", "The dog ran",
                                          "Hi"};
  auto result = Embed(Texts(texts));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->embeddings.size(), texts.size());
  const int32_t n_embd = runtime_.GetModelInfo()->embedding_length;
  EXPECT_EQ(result->dimensions, n_embd);
  // stories260K declares no pooling: llama.cpp gives the last token's.
  EXPECT_EQ(result->pooling, Pooling::kLast);
  EXPECT_EQ(result->model, runtime_.GetModelInfo()->name);
  int32_t tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const Embedding& e = result->embeddings[i];
    EXPECT_EQ(static_cast<int32_t>(e.values.size()), n_embd);
    EXPECT_NEAR(Norm(e.values), 1.0, 1e-5);
    EXPECT_FALSE(e.truncated);
    // BOS and EOS as the model's metadata says.
    auto ids = runtime_.Tokenize(texts[i], {.add_special = true});
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(e.tokens, static_cast<int32_t>(ids->size()));
    tokens += e.tokens;
  }
  EXPECT_EQ(result->prompt_tokens, tokens);
  EXPECT_NE(result->embeddings[0].values, result->embeddings[1].values);
  // Without special tokens there is one token less (no BOS).
  EmbedRequest bare = Texts(texts);
  bare.add_special = false;
  auto without = Embed(bare);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->embeddings[0].tokens, result->embeddings[0].tokens - 1);
  EXPECT_NE(without->embeddings[0].values, result->embeddings[0].values);
}

TEST_F(EmbedTest, NormalizeOnlyScales) {
  auto raw = Embed(Texts({"Once upon a time"}, Pooling::kMean, false));
  auto unit = Embed(Texts({"Once upon a time"}, Pooling::kMean, true));
  ASSERT_TRUE(raw.ok() && unit.ok());
  const std::vector<float>& r = raw->embeddings[0].values;
  const std::vector<float>& u = unit->embeddings[0].values;
  const double norm = Norm(r);
  EXPECT_GT(std::abs(norm - 1.0), 1e-3);  // raw states are not unit length
  for (size_t d = 0; d < r.size(); ++d) {
    EXPECT_NEAR(u[d], r[d] / norm, 1e-6);
  }
}

// Causal attention: a token's state depends on it and what precedes it
// only. So CLS (the first token's state: BOS here) is the same for every
// text, and the mean over a text's tokens is the mean of the last-token
// states of its prefixes.
TEST_F(EmbedTest, PoolingFollowsFromCausalAttention) {
  const std::vector<std::string> prefixes = {"Once", "Once upon", "Once upon a",
                                             "Once upon a time"};
  std::vector<std::vector<TokenId>> ids;
  for (const std::string& p : prefixes) {
    auto t = runtime_.Tokenize(p, {.add_special = true});
    ASSERT_TRUE(t.ok());
    ids.push_back(*t);
  }
  ASSERT_EQ(ids[0][0], runtime_.GetModelInfo()->bos);
  for (size_t i = 1; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i].size(), ids[i - 1].size() + 1) << prefixes[i];
    ASSERT_TRUE(
        std::equal(ids[i - 1].begin(), ids[i - 1].end(), ids[i].begin()))
        << prefixes[i] << " does not extend " << prefixes[i - 1];
  }
  auto cls =
      Embed(Texts({"Once upon a time", "The dog ran"}, Pooling::kCls, false));
  auto last = Embed(Texts(prefixes, Pooling::kLast, false));
  auto mean = Embed(Texts({prefixes.back()}, Pooling::kMean, false));
  ASSERT_TRUE(cls.ok() && last.ok() && mean.ok());
  EXPECT_EQ(cls->pooling, Pooling::kCls);
  EXPECT_EQ(cls->embeddings[0].values, cls->embeddings[1].values);
  const size_t n = ids.back().size();  // BOS + one token per prefix
  ASSERT_EQ(n, prefixes.size() + 1);
  const std::vector<float>& got = mean->embeddings[0].values;
  for (size_t d = 0; d < got.size(); ++d) {
    double sum = cls->embeddings[0].values[d];
    for (const Embedding& e : last->embeddings) sum += e.values[d];
    EXPECT_NEAR(got[d], sum / static_cast<double>(n), 1e-5) << d;
  }
}

// A copy of stories260K whose metadata says `{arch}.pooling_type` =
// `pooling` (llama.cpp's numbering).
std::string WithPoolingKey(const std::filesystem::path& dir, uint32_t pooling) {
  auto file = gguf::GgufFile::Open(kStories);
  EXPECT_TRUE(file.ok());
  gguf::GgufWriter writer;
  for (const auto& [key, value] : (*file)->metadata()) {
    writer.AddValue(key, value);
  }
  writer.AddUint32("llama.pooling_type", pooling);
  for (const gguf::TensorInfo& t : (*file)->tensors()) {
    writer.AddTensor(t.name, t.type,
                     absl::MakeConstSpan(t.dims.data(), t.n_dims),
                     absl::MakeConstSpan(t.data, t.n_bytes));
  }
  const std::string path =
      (dir / ("pooling" + std::to_string(pooling) + ".gguf")).string();
  EXPECT_TRUE(writer.WriteFile(path).ok());
  return path;
}

TEST_F(EmbedTest, UnspecifiedPoolingIsTheModelsKey) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "embed_keys";
  std::filesystem::create_directories(dir);
  const std::vector<std::string> texts = {"Once upon a time", "A big dog"};
  for (auto [key, pooling] :
       {std::pair{0u, Pooling::kLast}, std::pair{1u, Pooling::kMean},
        std::pair{2u, Pooling::kCls}, std::pair{3u, Pooling::kLast}}) {
    Runtime runtime;
    ASSERT_TRUE(runtime.Load(WithPoolingKey(dir, key), {.threads = 1}).ok());
    auto declared = runtime.Embed(Texts(texts), cancel_);
    ASSERT_TRUE(declared.ok()) << declared.status();
    EXPECT_EQ(declared->pooling, pooling) << key;
    auto chosen = Embed(Texts(texts, pooling));
    ASSERT_TRUE(chosen.ok());
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(declared->embeddings[i].values, chosen->embeddings[i].values)
          << key;
    }
    // A request's own choice wins over the key.
    auto mean = runtime.Embed(Texts(texts, Pooling::kMean), cancel_);
    ASSERT_TRUE(mean.ok());
    EXPECT_EQ(mean->pooling, Pooling::kMean);
  }
  Runtime reranker;
  ASSERT_TRUE(reranker.Load(WithPoolingKey(dir, 4), {.threads = 1}).ok());
  auto rank = reranker.Embed(Texts(texts), cancel_);
  EXPECT_EQ(GetErrorCode(rank.status()), ErrorCode::kUnsupportedModel);
  EXPECT_THAT(std::string(rank.status().message()), HasSubstr("rank"));
  EXPECT_TRUE(reranker.Embed(Texts(texts, Pooling::kMean), cancel_).ok());
}

TEST_F(EmbedTest, BadInputFailsCleanlyNamingTheText) {
  auto empty_list = Embed(Texts({}));
  EXPECT_EQ(GetErrorCode(empty_list.status()), ErrorCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty_list.status().message()),
              StartsWith("texts: "));

  auto too_many =
      Embed(Texts(std::vector<std::string>(kMaxEmbedTexts + 1, "x")));
  EXPECT_EQ(GetErrorCode(too_many.status()), ErrorCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_many.status().message()), StartsWith("texts: "));
  EXPECT_TRUE(Embed(Texts(std::vector<std::string>(kMaxEmbedTexts, "x"))).ok());

  auto empty_text = Embed(Texts({"fine", "also fine", ""}));
  EXPECT_EQ(GetErrorCode(empty_text.status()), ErrorCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty_text.status().message()),
              StartsWith("texts[2]: "));

  const Diagnostics d = runtime_.GetDiagnostics();
  EXPECT_FALSE(d.poisoned);
  EXPECT_TRUE(Embed(Texts({"fine"})).ok());
}

TEST_F(EmbedTest, LongTextsFailOrAreTruncatedToTheContext) {
  Runtime small;
  ASSERT_TRUE(small.Load(kStories, {.context_length = 16, .threads = 1}).ok());
  std::string long_text;
  for (int i = 0; i < 20; ++i) long_text += " dog";
  auto ids = small.Tokenize(long_text, {.add_special = true});
  ASSERT_TRUE(ids.ok());
  ASSERT_GT(ids->size(), 16u);

  auto refused = small.Embed(Texts({"short", long_text}), cancel_);
  EXPECT_EQ(GetErrorCode(refused.status()), ErrorCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              StartsWith("texts[1]: "));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("truncate"));

  EmbedRequest r = Texts({"short", long_text}, Pooling::kLast, false);
  r.truncate = true;
  auto cut = small.Embed(r, cancel_);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_FALSE(cut->embeddings[0].truncated);
  EXPECT_TRUE(cut->embeddings[1].truncated);
  EXPECT_EQ(cut->embeddings[1].tokens, 16);
  // The same vector as a text that is exactly those 16 tokens.
  auto first16 = small.Detokenize(
      std::vector<TokenId>(ids->begin() + 1, ids->begin() + 16));
  ASSERT_TRUE(first16.ok());
  auto again = small.Tokenize(*first16, {.add_special = true});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(*again, std::vector<TokenId>(ids->begin(), ids->begin() + 16));
  auto exact = small.Embed(Texts({*first16}, Pooling::kLast, false), cancel_);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->embeddings[0].values, cut->embeddings[1].values);
}

TEST_F(EmbedTest, CancelledCallRunsNothingAndLeavesTheRuntimeUsable) {
  CancelToken cancel;
  cancel.Cancel();
  auto result = runtime_.Embed(Texts({"Once upon a time"}), cancel);
  EXPECT_EQ(GetErrorCode(result.status()), ErrorCode::kCancelled);
  EXPECT_FALSE(runtime_.GetDiagnostics().poisoned);
  EXPECT_TRUE(Embed(Texts({"Once upon a time"})).ok());
}

// Packing (and the pack size) changes no bit: every text's vector equals
// the one it gets alone, on a model whose weights llama.cpp repacks (q4_K:
// gemm for groups of 4 tokens, gemv for the rest) and on others.
void ExpectPackingChangesNothing(const std::string& model) {
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " missing";
  const std::vector<std::string> texts = VariedTexts();
  for (const int32_t batch : {512, 64}) {
    Runtime runtime;
    ASSERT_TRUE(runtime.Load(model, {.threads = 2, .max_batch = batch}).ok());
    CancelToken cancel;
    for (Pooling pooling : {Pooling::kLast, Pooling::kMean}) {
      auto together = runtime.Embed(Texts(texts, pooling, false), cancel);
      ASSERT_TRUE(together.ok()) << together.status();
      for (size_t i = 0; i < texts.size(); ++i) {
        auto alone = runtime.Embed(Texts({texts[i]}, pooling, false), cancel);
        ASSERT_TRUE(alone.ok());
        EXPECT_EQ(together->embeddings[i].values, alone->embeddings[0].values)
            << model << " batch " << batch << " text " << i;
        EXPECT_EQ(together->embeddings[i].tokens, alone->embeddings[0].tokens);
      }
    }
  }
}

TEST(EmbedPackingTest, SmolLm2) { ExpectPackingChangesNothing(kSmolLm); }
TEST(EmbedPackingTest, Gemma3) { ExpectPackingChangesNothing(kGemma3); }
TEST(EmbedPackingTest, Stories) { ExpectPackingChangesNothing(kStories); }

TEST(EmbedLimitsTest, TotalTokensAreBounded) {
  if (!std::filesystem::exists(kSmolLm)) GTEST_SKIP() << "run deploy/setup.sh";
  Runtime runtime;
  ASSERT_TRUE(runtime.Load(kSmolLm, {.context_length = 2048}).ok());
  std::string text;
  for (int i = 0; i < 1100; ++i) text += " word";
  auto ids = runtime.Tokenize(text, {});
  ASSERT_TRUE(ids.ok());
  const int64_t per_text = static_cast<int64_t>(ids->size());
  const int64_t fit = kMaxEmbedTokens / per_text;
  ASSERT_LT(fit, kMaxEmbedTexts);
  CancelToken cancel;
  auto over = runtime.Embed(
      Texts(std::vector<std::string>(static_cast<size_t>(fit + 1), text)),
      cancel);
  EXPECT_EQ(GetErrorCode(over.status()), ErrorCode::kLimitExceeded);
  EXPECT_THAT(std::string(over.status().message()), StartsWith("texts: "));
  EXPECT_THAT(over.status().message(),
              HasSubstr("texts[" + std::to_string(fit) + "]"));
}

// The runtime's cached prefix survives an Embed (the next Generate reuses
// it and gives the same tokens), and so does a session.
TEST_F(EmbedTest, GenerateAfterEmbedIsUnchanged) {
  const std::string prompt = "Once upon a time there was a cat";
  Sink first_sink;
  auto first = runtime_.Generate(Greedy(prompt, 12), first_sink, cancel_);
  ASSERT_TRUE(first.ok());
  Sink turn1_sink;
  auto turn1 =
      runtime_.Generate(Greedy("The dog", 6, "s1"), turn1_sink, cancel_);
  ASSERT_TRUE(turn1.ok());
  const int32_t kv_used = runtime_.GetDiagnostics().kv_tokens_used;

  ASSERT_TRUE(Embed(Texts(VariedTexts())).ok());
  ASSERT_TRUE(Embed(Texts({"a"})).ok());
  EXPECT_EQ(runtime_.GetDiagnostics().kv_tokens_used, kv_used);

  Sink second_sink;
  auto second = runtime_.Generate(Greedy(prompt, 12), second_sink, cancel_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->finished.usage.cached_tokens,
            static_cast<int32_t>(second->prompt_ids.size()) - 1);
  EXPECT_EQ(second->ids, first->ids);

  Sink turn2_sink;
  auto turn2 =
      runtime_.Generate(Greedy(" ran home", 8, "s1"), turn2_sink, cancel_);
  ASSERT_TRUE(turn2.ok());
  EXPECT_EQ(turn2_sink.started.session_cache, SessionCache::kHit);

  // The same two turns on a runtime that never embedded anything.
  Runtime plain;
  ASSERT_TRUE(plain.Load(kStories, {.threads = 1}).ok());
  Sink a, b;
  ASSERT_TRUE(plain.Generate(Greedy("The dog", 6, "s1"), a, cancel_).ok());
  auto expected = plain.Generate(Greedy(" ran home", 8, "s1"), b, cancel_);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(turn2->ids, expected->ids);
  EXPECT_EQ(turn2->prompt_ids, expected->prompt_ids);
}

}  // namespace
}  // namespace ggufd
