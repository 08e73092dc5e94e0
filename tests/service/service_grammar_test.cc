// Constrained generation over gRPC on the default model: a grammar's stream
// ends with FINISH_REASON_CONSTRAINT_COMPLETE and its text is a sentence of
// the grammar; stop strings and max_tokens still end it early; bad
// constraints are INVALID_ARGUMENT naming the field (at admission, or from
// the runtime for a token the vocabulary does not have), and the server
// goes on serving.
#include <regex>
#include <string>

#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

// A short list of small numbers: it completes at "]".
constexpr char kListGrammar[] =
    "root ::= \"[\" num (\", \" num){2} \"]\"\n"
    "num ::= [1-9] [0-9]?\n";

v1::GenerateRequest ListRequest(int max_tokens) {
  v1::GenerateRequest request;
  auto* user = request.mutable_chat()->add_messages();
  user->set_role("user");
  user->set_content("Give me three numbers between 1 and 99 as a list.");
  request.mutable_sampling()->set_temperature(0);
  request.mutable_stopping()->set_max_tokens(max_tokens);
  request.mutable_constraint()->set_grammar(kListGrammar);
  return request;
}

class ServiceGrammarTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = GgufdProcess::Start({"--model", SmolLmModel()}).release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() { delete server_; }

  static GgufdProcess* server_;
};

GgufdProcess* ServiceGrammarTest::server_ = nullptr;

TEST_F(ServiceGrammarTest, GrammarEndsWithConstraintComplete) {
  const GenerateResult r = Generate(server_->inference(), ListRequest(64));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_CONSTRAINT_COMPLETE) << r.text;
  EXPECT_TRUE(std::regex_match(
      r.text, std::regex(R"(\[[1-9][0-9]?(, [1-9][0-9]?){2}\])")))
      << r.text;
  EXPECT_LT(r.last.usage().completion_tokens(), 64);
}

TEST_F(ServiceGrammarTest, StopStringsAndMaxTokensStillApply) {
  v1::GenerateRequest stop = ListRequest(64);
  stop.mutable_stopping()->mutable_stop()->add_values(",");
  const GenerateResult s = Generate(server_->inference(), stop);
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.last.reason(), v1::FINISH_REASON_STOP_SEQUENCE);
  EXPECT_EQ(s.text.find(','), std::string::npos) << s.text;
  EXPECT_EQ(s.text.front(), '[') << s.text;

  const GenerateResult m = Generate(server_->inference(), ListRequest(2));
  ASSERT_TRUE(m.status.ok()) << m.status.error_message();
  EXPECT_EQ(m.last.reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(m.last.usage().completion_tokens(), 2);
}

TEST_F(ServiceGrammarTest, InvalidConstraintsNameTheField) {
  auto refused = [&](const v1::GenerateRequest& request,
                     const std::string& field) {
    const GenerateResult r = Generate(server_->inference(), request);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << field << ": " << r.status.error_message();
    EXPECT_TRUE(HasFieldViolation(r.status, field))
        << field << ": " << r.status.error_message();
    EXPECT_EQ(r.started, 0) << field;
    return r.status.error_message();
  };
  v1::GenerateRequest syntax = ListRequest(8);
  syntax.mutable_constraint()->set_grammar("root ::= (\"a\"\n");
  EXPECT_NE(refused(syntax, "constraint.grammar").find("line 1, column 10"),
            std::string::npos);

  v1::GenerateRequest left = ListRequest(8);
  left.mutable_constraint()->set_grammar("root ::= root \"a\" | \"b\"");
  EXPECT_NE(refused(left, "constraint.grammar").find("left-recursive"),
            std::string::npos);

  v1::GenerateRequest huge = ListRequest(8);
  huge.mutable_constraint()->set_grammar(std::string(300 * 1024, ' '));
  EXPECT_NE(refused(huge, "constraint.grammar").find("at most 262144"),
            std::string::npos);

  // Resolved by the runtime against the model's vocabulary.
  v1::GenerateRequest token = ListRequest(8);
  token.mutable_constraint()->set_grammar("root ::= <no-such-token> \"a\"");
  EXPECT_NE(refused(token, "constraint.grammar").find("not one token"),
            std::string::npos);

  v1::GenerateRequest unset = ListRequest(8);
  unset.mutable_constraint()->Clear();
  refused(unset, "constraint");

  // The server goes on serving constrained requests.
  const GenerateResult ok = Generate(server_->inference(), ListRequest(64));
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.last.reason(), v1::FINISH_REASON_CONSTRAINT_COMPLETE);
}

TEST_F(ServiceGrammarTest, TokenReferencesMatchTokens) {
  // <|im_start|> (id 1, a control token, not an end token) by its text,
  // then text; the token's own text is not output.
  v1::GenerateRequest request = ListRequest(16);
  request.mutable_constraint()->set_grammar(
      "root ::= <|im_start|> (\"yes\" | \"no\")");
  request.mutable_output()->set_token_ids(true);
  const GenerateResult r = Generate(server_->inference(), request);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_CONSTRAINT_COMPLETE);
  EXPECT_TRUE(r.text == "yes" || r.text == "no") << r.text;
  int first = -1;
  for (const v1::GenerateEvent& e : r.events) {
    if (e.has_chunk() && e.chunk().tokens_size() > 0 && first < 0) {
      first = e.chunk().tokens(0).id();
    }
  }
  EXPECT_EQ(first, 1);
}

}  // namespace
}  // namespace ggufd::testing
