// ggufctl's constrained generation and embeddings as a shell user runs
// them, against a real ggufd serving the default model: generate and chat
// with --regex, --json-schema(-file) and --grammar-file, and `embed`
// (one vector per line, --json, --pooling, --no-normalize, stdin).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPhone[] = "[0-9]{3}-[0-9]{4}";
constexpr char kSchema[] =
    R"({"type":"object","properties":{"answer":{"enum":["yes","no"]},)"
    R"("sure":{"type":"boolean"}},"required":["answer","sure"],)"
    R"("additionalProperties":false})";

// Only the command's stdout (RunShell merges stderr into it otherwise).
ShellResult Stdout(const std::string& command) {
  return RunShell("(" + command + " 2>/dev/null)");
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<double> Numbers(const std::string& line) {
  std::vector<double> values;
  std::istringstream in(line);
  for (double v; in >> v;) values.push_back(v);
  return values;
}

double Norm(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

class GgufctlConstraintEmbedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = GgufdProcess::Start({"--model", SmolLmModel()}).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ctl_ = GgufctlBinary() + " --server " + server_->address();
    dir_ = std::filesystem::temp_directory_path() /
           ("ggufctl-constraint-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  int EmbeddingLength() {
    grpc::ClientContext context;
    v1::GetModelInfoRequest request;
    v1::ModelInfo info;
    EXPECT_TRUE(server_->runtime().GetModelInfo(&context, request, &info).ok());
    return info.embedding_length();
  }

  static GgufdProcess* server_;
  std::string ctl_;
  std::filesystem::path dir_;
};

GgufdProcess* GgufctlConstraintEmbedTest::server_ = nullptr;

TEST_F(GgufctlConstraintEmbedTest, RegexOutputMatchesAndCompletes) {
  const ShellResult out =
      RunShell(ctl_ + " generate --regex '" + kPhone +
               "' -t 0 -n 32 --stats 'My phone number is '");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  const std::vector<std::string> lines = Lines(out.output);
  ASSERT_GE(lines.size(), 2u) << out.output;
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(kPhone))) << lines[0];
  EXPECT_THAT(lines[1], HasSubstr("[FINISH_REASON_CONSTRAINT_COMPLETE: "));
  // Sampled too: every seed's output is a whole match.
  for (int seed = 1; seed <= 3; ++seed) {
    const ShellResult sampled =
        Stdout(ctl_ + " generate --regex '" + kPhone + "' -t 1 --seed " +
               std::to_string(seed) + " -n 32 'My phone number is '");
    ASSERT_EQ(sampled.exit_code, 0);
    EXPECT_TRUE(std::regex_match(sampled.output,
                                 std::regex(std::string(kPhone) + "\n")))
        << sampled.output;
  }
}

TEST_F(GgufctlConstraintEmbedTest, JsonSchemaFromTextOrFile) {
  const std::string prompt = " 'Is the sky blue? Reply in JSON: '";
  const ShellResult inline_schema = Stdout(
      ctl_ + " generate -t 0 -n 48 --json-schema '" + kSchema + "'" + prompt);
  ASSERT_EQ(inline_schema.exit_code, 0);
  const nlohmann::json value =
      nlohmann::json::parse(inline_schema.output, nullptr, false);
  ASSERT_TRUE(value.is_object()) << inline_schema.output;
  EXPECT_EQ(value.size(), 2u) << inline_schema.output;
  EXPECT_TRUE(value.value("answer", "") == "yes" ||
              value.value("answer", "") == "no")
      << inline_schema.output;
  EXPECT_TRUE(value.contains("sure") && value["sure"].is_boolean())
      << inline_schema.output;

  const std::string file = WriteFile("schema.json", kSchema);
  const ShellResult from_file =
      Stdout(ctl_ + " generate -t 0 -n 48 --json-schema-file " + file + prompt);
  ASSERT_EQ(from_file.exit_code, 0);
  EXPECT_EQ(from_file.output, inline_schema.output);
}

TEST_F(GgufctlConstraintEmbedTest, GrammarFileConstrainsAChatAnswer) {
  const std::string grammar =
      WriteFile("yes_no.gbnf", "root ::= (\"yes\" | \"no\") \".\"\n");
  const ShellResult out =
      RunShell(ctl_ + " chat --grammar-file " + grammar +
               " -t 0 -n 16 --stats 'Is water wet? Answer yes or no.'");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  const std::vector<std::string> lines = Lines(out.output);
  ASSERT_GE(lines.size(), 2u) << out.output;
  EXPECT_TRUE(lines[0] == "yes." || lines[0] == "no.") << lines[0];
  EXPECT_THAT(lines[1], HasSubstr("FINISH_REASON_CONSTRAINT_COMPLETE"));
}

TEST_F(GgufctlConstraintEmbedTest, RefusalsAreReported) {
  const std::string bad = WriteFile("bad.gbnf", "root ::= undefined-rule\n");
  const ShellResult invalid =
      RunShell(ctl_ + " generate --grammar-file " + bad + " -n 8 Hi");
  EXPECT_EQ(invalid.exit_code, 1) << invalid.output;
  EXPECT_THAT(invalid.output, HasSubstr("ggufctl: INVALID_ARGUMENT: "));
  EXPECT_THAT(invalid.output, HasSubstr("error_code 1]"));
  const ShellResult regex = RunShell(ctl_ + " generate --regex '[0-9' Hi");
  EXPECT_EQ(regex.exit_code, 1) << regex.output;
  EXPECT_THAT(regex.output, HasSubstr("INVALID_ARGUMENT"));
  // Two kinds of constraint: a usage error, before anything is sent.
  const ShellResult two = RunShell(ctl_ + " generate --regex a --json-schema " +
                                   "'{}' --grammar-file " + bad + " Hi");
  EXPECT_EQ(two.exit_code, 2) << two.output;
  EXPECT_THAT(two.output, HasSubstr("excludes"));
  const ShellResult pooling = RunShell(ctl_ + " embed --pooling max Hi");
  EXPECT_EQ(pooling.exit_code, 2) << pooling.output;
}

TEST_F(GgufctlConstraintEmbedTest, EmbedPrintsOneUnitVectorPerLine) {
  const int dimensions = EmbeddingLength();
  ASSERT_GT(dimensions, 0);
  const ShellResult out =
      RunShell(ctl_ + " embed --stats 'The cat sat on the mat.' " +
               "'Stock markets fell sharply.' 'The cat sat on the mat.'");
  ASSERT_EQ(out.exit_code, 0) << out.output.substr(0, 400);
  const std::vector<std::string> lines = Lines(out.output);
  ASSERT_EQ(lines.size(), 4u);
  std::vector<std::vector<double>> vectors;
  for (int i = 0; i < 3; ++i) vectors.push_back(Numbers(lines[i]));
  for (const auto& v : vectors) {
    ASSERT_EQ(v.size(), static_cast<size_t>(dimensions));
    EXPECT_NEAR(Norm(v), 1.0, 1e-4);
  }
  for (int i = 0; i < dimensions; ++i) {
    ASSERT_NEAR(vectors[0][i], vectors[2][i], 1e-6) << "dimension " << i;
  }
  EXPECT_NE(vectors[0], vectors[1]);
  EXPECT_THAT(lines[3], HasSubstr("3 vectors of " + std::to_string(dimensions) +
                                  " dimensions"));

  // --json: the response in protobuf's JSON mapping.
  const ShellResult json = Stdout(ctl_ + " embed --json 'The cat sat.' Dogs");
  ASSERT_EQ(json.exit_code, 0);
  const nlohmann::json response = nlohmann::json::parse(json.output);
  EXPECT_EQ(response["dimensions"], dimensions);
  ASSERT_EQ(response["embeddings"].size(), 2u);
  EXPECT_EQ(response["embeddings"][0]["values"].size(),
            static_cast<size_t>(dimensions));
  EXPECT_GT(response["embeddings"][1]["tokens"].get<int>(), 0);
  EXPECT_FALSE(response["model"].get<std::string>().empty());

  // Texts from stdin, one per line, equal the same texts as arguments.
  const ShellResult piped = Stdout(
      "printf 'The cat sat on the mat.\\nStock markets fell "
      "sharply.\\n' | " +
      ctl_ + " embed -");
  ASSERT_EQ(piped.exit_code, 0);
  const std::vector<std::string> piped_lines = Lines(piped.output);
  ASSERT_EQ(piped_lines.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const std::vector<double> v = Numbers(piped_lines[i]);
    ASSERT_EQ(v.size(), vectors[i].size());
    for (size_t k = 0; k < v.size(); ++k) {
      ASSERT_NEAR(v[k], vectors[i][k], 1e-6) << "text " << i << " dim " << k;
    }
  }
}

TEST_F(GgufctlConstraintEmbedTest, EmbedPoolingAndNormalizeFlags) {
  const std::string text = " 'Stock markets fell sharply.'";
  const ShellResult mean = Stdout(ctl_ + " embed --pooling mean" + text);
  const ShellResult raw =
      Stdout(ctl_ + " embed --pooling mean --no-normalize" + text);
  const ShellResult last = Stdout(ctl_ + " embed --pooling last" + text);
  ASSERT_EQ(mean.exit_code, 0);
  ASSERT_EQ(raw.exit_code, 0);
  ASSERT_EQ(last.exit_code, 0);
  const std::vector<double> m = Numbers(mean.output);
  const std::vector<double> r = Numbers(raw.output);
  const std::vector<double> l = Numbers(last.output);
  ASSERT_EQ(m.size(), r.size());
  const double length = Norm(r);
  EXPECT_GT(std::abs(length - 1.0), 1e-3)
      << "--no-normalize gave a unit vector";
  for (size_t i = 0; i < m.size(); ++i) {
    ASSERT_NEAR(r[i] / length, m[i], 1e-5) << "dimension " << i;
  }
  EXPECT_NE(l, m);
}

}  // namespace
}  // namespace ggufd::testing
