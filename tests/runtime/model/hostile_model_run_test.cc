// `ggufd run` on hostile model files (issue 10): stories260K.gguf rewritten
// with one value outside its domain, or with its tensor data reordered. The
// real binary must refuse each with exit status 1 and a one-line error that
// names the key (or tensor), before generating anything.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"

namespace ggufd::model {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kSource =
    std::string(GGUFD_TESTDATA_DIR) + "/models/stories260K.gguf";
const std::string kGgufd = std::string(GGUFD_BINARY_DIR) + "/service/ggufd";

// Writes a replacement for metadata key `key` (or nothing, to drop it) and
// returns true; false keeps the original value.
using Edit =
    std::function<bool(std::string_view key, const gguf::GgufValue& value,
                       gguf::GgufWriter& writer)>;

// The source model written again, with `edit` applied to its metadata.
std::vector<uint8_t> Rewrite(const Edit& edit) {
  auto file = gguf::GgufFile::Open(kSource);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return {};
  gguf::GgufWriter w((*file)->alignment());
  for (const auto& [key, value] : (*file)->metadata()) {
    if (!edit(key, value, w)) w.AddValue(key, value);
  }
  for (const gguf::TensorInfo& t : (*file)->tensors()) {
    w.AddTensor(t.name, t.type, absl::MakeConstSpan(t.dims.data(), t.n_dims),
                absl::MakeConstSpan(t.data, t.n_bytes));
  }
  return w.Serialize();
}

// The offset field of tensor `name`'s table entry in a v3 image whose tensor
// names appear nowhere else.
size_t OffsetFieldOf(const std::vector<uint8_t>& image, const std::string& name,
                     uint32_t n_dims) {
  auto it = std::search(image.begin(), image.end(), name.begin(), name.end());
  EXPECT_NE(it, image.end()) << name;
  return static_cast<size_t>(it - image.begin()) + name.size() + 4 +
         8 * n_dims + 4;
}

struct RunResult {
  int exit_status = -1;
  std::string stdout_text;
  std::string stderr_text;
};

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `ggufd run` on `image` (written to a temporary file).
RunResult RunGgufd(const std::vector<uint8_t>& image, const std::string& tag) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "hostile_model_run_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path model = dir / (tag + ".gguf");
  {
    std::ofstream out(model, std::ios::binary);
    out.write(reinterpret_cast<const char*>(image.data()),
              static_cast<std::streamsize>(image.size()));
  }
  const std::filesystem::path out = dir / (tag + ".out");
  const std::filesystem::path err = dir / (tag + ".err");
  const std::string command = kGgufd + " run -m '" + model.string() +
                              "' -p Once -n 2 --temp 0 --threads 1 >'" +
                              out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  RunResult r;
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.stdout_text = ReadAll(out);
  r.stderr_text = ReadAll(err);
  std::filesystem::remove(model);
  return r;
}

// Expects `ggufd run` to refuse `image` with one line naming `what`.
void ExpectRefused(const std::vector<uint8_t>& image, const std::string& tag,
                   const std::string& what) {
  ASSERT_FALSE(image.empty());
  const RunResult r = RunGgufd(image, tag);
  EXPECT_EQ(r.exit_status, 1) << tag << ": " << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "") << tag;
  EXPECT_THAT(r.stderr_text, StartsWith("ggufd run: ")) << tag;
  EXPECT_THAT(r.stderr_text, HasSubstr(what)) << tag;
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1)
      << tag << ": " << r.stderr_text;
}

// Replaces the key named `target` with a value written by `write`.
Edit Replace(std::string target, std::function<void(gguf::GgufWriter&)> write) {
  return
      [target = std::move(target), write = std::move(write)](
          std::string_view key, const gguf::GgufValue&, gguf::GgufWriter& w) {
        if (key != target) return false;
        write(w);
        return true;
      };
}

// The stories260K vocabulary with token `index` changed to `text`.
Edit TokenText(uint64_t index, std::string text) {
  return [index, text = std::move(text)](std::string_view key,
                                         const gguf::GgufValue& value,
                                         gguf::GgufWriter& w) {
    if (key != "tokenizer.ggml.tokens") return false;
    std::vector<std::string> tokens(value.strings.begin(), value.strings.end());
    tokens[index] = text;
    w.AddStringArray(key, tokens);
    return true;
  };
}

class HostileModelRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kGgufd))
      GTEST_SKIP() << kGgufd << " not built";
  }
};

TEST_F(HostileModelRunTest, TheUneditedRewriteRuns) {
  // Guards the harness: the rewriter itself produces a file ggufd runs.
  const RunResult r =
      RunGgufd(Rewrite([](std::string_view, const gguf::GgufValue&,
                          gguf::GgufWriter&) { return false; }),
               "unedited");
  EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_FALSE(r.stdout_text.empty());
}

TEST_F(HostileModelRunTest, RefusesFloatHyperparametersOutsideTheirDomain) {
  const std::string eps = "llama.attention.layer_norm_rms_epsilon";
  ExpectRefused(
      Rewrite(
          Replace(eps, [&](gguf::GgufWriter& w) { w.AddFloat32(eps, 0.0f); })),
      "eps_zero", eps + " = 0 is out of range");
  ExpectRefused(Rewrite(Replace(eps,
                                [&](gguf::GgufWriter& w) {
                                  w.AddFloat32(
                                      eps,
                                      std::numeric_limits<float>::quiet_NaN());
                                })),
                "eps_nan", eps + " = nan");
}

TEST_F(HostileModelRunTest, RefusesSpecialTokenIdsOutsideTheVocabulary) {
  const std::string bos = "tokenizer.ggml.bos_token_id";
  ExpectRefused(
      Rewrite(Replace(bos, [&](gguf::GgufWriter& w) { w.AddInt32(bos, -5); })),
      "bos_negative", bos + " = -5 is negative");
  const std::string eos = "tokenizer.ggml.eos_token_id";
  ExpectRefused(Rewrite(Replace(
                    eos, [&](gguf::GgufWriter& w) { w.AddUint32(eos, 512); })),
                "eos_beyond",
                eos + " = 512 is outside the vocabulary of 512 tokens");
}

TEST_F(HostileModelRunTest, RefusesByteTokensNotSpelledAsBytes) {
  // Token 3 + 0x41 is <0x41> ("A").
  ExpectRefused(Rewrite(TokenText(3 + 0x41, "<0xZZ>")), "byte_zz",
                "tokenizer.ggml.tokens[68] is a byte token");
  ExpectRefused(Rewrite(TokenText(3 + 0x41, "hello")), "byte_hello",
                "tokenizer.ggml.tokens[68] is a byte token");
}

TEST_F(HostileModelRunTest, RefusesTokenizerArraysOfAnotherElementType) {
  const std::string types = "tokenizer.ggml.token_type";
  std::vector<uint8_t> narrow;
  ExpectRefused(Rewrite([&](std::string_view key, const gguf::GgufValue& value,
                            gguf::GgufWriter& w) {
                  if (key != types) return false;
                  // The same types as u8 instead of the spec's i32.
                  narrow.clear();
                  for (uint64_t i = 0; i < value.count; ++i) {
                    narrow.push_back(value.raw[4 * i]);
                  }
                  gguf::GgufValue u8 = value;
                  u8.element_type = gguf::ValueType::kUint8;
                  u8.raw = narrow.data();
                  w.AddValue(key, u8);
                  return true;
                }),
                "types_u8", types + " (at offset ");
  const std::string scores = "tokenizer.ggml.scores";
  ExpectRefused(Rewrite([&](std::string_view key, const gguf::GgufValue& value,
                            gguf::GgufWriter& w) {
                  if (key != scores) return false;
                  std::vector<float> values(value.count);
                  std::memcpy(values.data(), value.raw, 4 * value.count);
                  values[100] = std::numeric_limits<float>::quiet_NaN();
                  w.AddFloat32Array(key, values);
                  return true;
                }),
                "scores_nan", scores + "[100] = nan is not a finite number");
}

TEST_F(HostileModelRunTest, RefusesTensorDataOutOfTableOrder) {
  // blk.0.attn_k and blk.0.attn_v have the same shape: swapping their data
  // offsets keeps every tensor in bounds and disjoint, and used to run with
  // K and V exchanged.
  std::vector<uint8_t> image =
      Rewrite([](std::string_view, const gguf::GgufValue&, gguf::GgufWriter&) {
        return false;
      });
  ASSERT_FALSE(image.empty());
  const size_t k = OffsetFieldOf(image, "blk.0.attn_k.weight", 2);
  const size_t v = OffsetFieldOf(image, "blk.0.attn_v.weight", 2);
  for (size_t i = 0; i < 8; ++i) std::swap(image[k + i], image[v + i]);
  ExpectRefused(image, "swapped",
                "tensor 'blk.0.attn_k.weight' data offset 286976, expected "
                "278784");
}

}  // namespace
}  // namespace ggufd::model
