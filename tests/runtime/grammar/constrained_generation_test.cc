// Runtime::Generate with a constraint on the default model (SmolLM2): the
// output is a sentence of the grammar and ends with kConstraintComplete when
// nothing more can follow; seeded sampling stays inside the grammar; stop
// strings, max_tokens and ignore_eos still apply; a precompiled grammar
// gives what the text gives; bad constraints and a grammar that blows up
// mid-generation fail that request alone.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/grammar/constraint.h"
#include "runtime/grammar/gbnf_parser.h"
#include "runtime/grammar/matcher.h"
#include "runtime/runtime.h"

namespace ggufd {
namespace {

using ::testing::HasSubstr;

class NullSink : public GenerationSink {
 public:
  void OnStarted(const StartedEvent&) override {}
  void OnProgress(const ProgressEvent&) override {}
  void OnToken(const TokenEvent&) override {}
  void OnFinished(const FinishedEvent&) override {}
};

constexpr char kPrompt[] =
    "<|im_start|>user\nGive me a short list of fruits.<|im_end|>\n"
    "<|im_start|>assistant\n";

// Three to five lowercase words, comma-separated, then a period: complete
// at the period.
constexpr char kListGrammar[] =
    "root ::= word (\", \" word){2,4} \".\"\n"
    "word ::= [a-z]{1,12}\n";

class ConstrainedGenerationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runtime_ = new Runtime;
    const absl::Status s = runtime_->Load(
        std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf",
        {.context_length = 512, .threads = 2});
    ASSERT_TRUE(s.ok()) << s;
  }
  static void TearDownTestSuite() { delete runtime_; }

  static GenerateRequest Request(std::string grammar, float temperature,
                                 uint64_t seed, int32_t max_tokens = 64) {
    GenerateRequest request;
    request.prompt = kPrompt;
    request.parse_special = true;
    request.sampling = sampling::SamplingOverrides{.temperature = temperature,
                                                   .top_k = 0,
                                                   .top_p = 1.0f,
                                                   .min_p = 0.0f,
                                                   .seed = seed};
    request.stopping = StoppingOverrides{.max_tokens = max_tokens};
    request.constraint =
        Constraint{Constraint::Kind::kGrammar, std::move(grammar)};
    return request;
  }

  static absl::StatusOr<GenerationResult> Run(const GenerateRequest& request) {
    NullSink sink;
    CancelToken cancel;
    return runtime_->Generate(request, sink, cancel);
  }

  // Whether `text` is a whole sentence of `gbnf`, by a fresh matcher.
  static bool IsSentence(const std::string& gbnf, const std::string& text) {
    auto g = grammar::ParseGbnf(gbnf);
    if (!g.ok()) return false;
    auto m = grammar::Matcher::Create(
        std::make_shared<const grammar::Grammar>(std::move(*g)), nullptr);
    return m.ok() && (*m)->AcceptBytes(text).ok() && (*m)->CanEnd();
  }

  static Runtime* runtime_;
};

Runtime* ConstrainedGenerationTest::runtime_ = nullptr;

TEST_F(ConstrainedGenerationTest, GreedyEndsWhenTheGrammarIsComplete) {
  auto r = Run(Request(kListGrammar, 0, 1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finished.reason, FinishReason::kConstraintComplete) << r->text;
  EXPECT_TRUE(IsSentence(kListGrammar, r->text)) << r->text;
  EXPECT_EQ(r->text.back(), '.');
  EXPECT_EQ(r->finished.end_token, -1);  // the last token was emitted
}

TEST_F(ConstrainedGenerationTest, SeededSamplesStayInTheGrammar) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto r = Run(Request(kListGrammar, 1.5f, seed));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->finished.reason, FinishReason::kConstraintComplete)
        << "seed " << seed << ": " << r->text;
    EXPECT_TRUE(IsSentence(kListGrammar, r->text))
        << "seed " << seed << ": " << r->text;
  }
}

TEST_F(ConstrainedGenerationTest, PrecompiledGivesWhatTheTextGives) {
  GenerateRequest text = Request(kListGrammar, 0.8f, 42);
  GenerateRequest compiled = text;
  auto g = grammar::CompileConstraint(*compiled.constraint);
  ASSERT_TRUE(g.ok()) << g.status();
  compiled.compiled_constraint = *g;
  compiled.constraint->text = "this text is not read";
  auto a = Run(text);
  auto b = Run(compiled);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->ids, b->ids);
}

TEST_F(ConstrainedGenerationTest, StoppingRulesStillApply) {
  GenerateRequest stop = Request(kListGrammar, 0, 1);
  stop.stopping.stop = {","};
  auto s = Run(stop);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->finished.reason, FinishReason::kStopSequence);
  EXPECT_EQ(s->text.find(','), std::string::npos);

  auto m = Run(Request(kListGrammar, 0, 1, /*max_tokens=*/2));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->finished.reason, FinishReason::kMaxTokens);
  EXPECT_EQ(m->ids.size(), 2u);

  // The end token is allowed only where the grammar may end; ignore_eos
  // bans it there too, and completion still ends the turn.
  GenerateRequest eos = Request("root ::= [a-z]+ \".\"?", 0, 1, 40);
  eos.stopping.ignore_eos = true;
  auto e = Run(eos);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NE(e->finished.reason, FinishReason::kEos);
}

TEST_F(ConstrainedGenerationTest, EmptyLanguageGeneratesNothing) {
  auto r = Run(Request("root ::= \"\"", 0, 1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finished.reason, FinishReason::kConstraintComplete);
  EXPECT_TRUE(r->ids.empty());
}

TEST_F(ConstrainedGenerationTest, BadConstraintsFailTheRequestAlone) {
  auto syntax = Run(Request("root ::= [a-", 0, 1));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(GetErrorCode(syntax.status()), ErrorCode::kInvalidArgument);
  EXPECT_THAT(std::string(syntax.status().message()),
              HasSubstr("constraint.grammar: line 1"));

  auto token = Run(Request("root ::= <[999999]>", 0, 1));
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(std::string(token.status().message()),
              HasSubstr("outside the vocabulary of 49152 tokens"));

  // Doubling ambiguity blows past the stack bound mid-generation: that
  // request fails, the runtime is not poisoned.
  auto blowup = Run(Request(
      "root ::= x\nx ::= [a-z ] x \"b\" | [a-z ] x \"c\" | \"d\"", 0, 1, 64));
  ASSERT_FALSE(blowup.ok());
  EXPECT_THAT(std::string(blowup.status().message()),
              HasSubstr("too ambiguous"));
  EXPECT_FALSE(runtime_->GetDiagnostics().poisoned);
  auto after = Run(Request(kListGrammar, 0, 1));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->finished.reason, FinishReason::kConstraintComplete);
}

}  // namespace
}  // namespace ggufd
