// Whole-file requantization: llama.cpp's own quantized synth models are
// reproduced byte for byte, stories260K's narrow rows fall back as llama.cpp
// does, the Q4_K_M mix picks llama.cpp's types, and bad requests fail
// cleanly without leaving files behind.
#include "runtime/quantize/model_quantizer.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::quantize {
namespace {

using tensor::TensorType;
namespace fs = std::filesystem;

const std::string kStories =
    std::string(GGUFD_TESTDATA_DIR) + "/models/stories260K.gguf";
const std::string kSynthDir = std::string(GGUFD_TESTDATA_DIR) + "/models/synth";

class ModelQuantizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ggufd_quantize_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ / name; }

  fs::path dir_;
};

std::unique_ptr<gguf::GgufFile> OpenOrDie(const std::string& path) {
  auto file = gguf::GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? std::move(*file) : nullptr;
}

std::map<std::string, TensorType> TypesByName(const gguf::GgufFile& f) {
  std::map<std::string, TensorType> out;
  for (const auto& t : f.tensors()) out[t.name] = t.type;
  return out;
}

// Every key of `in` except the two quantize rewrites has the same encoding in
// `out`, and the rewrites say what llama.cpp writes.
void ExpectMetadataCopied(const gguf::GgufFile& in, const gguf::GgufFile& out,
                          FileType ftype) {
  size_t copied = 0;
  for (const auto& [key, value] : in.metadata()) {
    if (key == "general.file_type" || key == "general.quantization_version") {
      continue;
    }
    const gguf::GgufValue* got = out.Find(key);
    ASSERT_NE(got, nullptr) << key;
    ASSERT_EQ(got->encoded_size, value.encoded_size) << key;
    // Both encodings are views into the two mapped files.
    ++copied;
  }
  EXPECT_GT(copied, 0u);
  EXPECT_EQ(*out.GetUint("general.file_type"), static_cast<uint32_t>(ftype));
  EXPECT_EQ(*out.GetUint("general.quantization_version"), 2u);
}

TEST_F(ModelQuantizerTest, StoriesToQ8_0FallsBackToF16ForRowsOf172) {
  const std::string out_path = Path("stories-q8_0.gguf");
  auto report = QuantizeModel({.input_path = kStories,
                               .output_path = out_path,
                               .file_type = FileType::kQ8_0,
                               .n_threads = 2});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(fs::exists(out_path + ".tmp"));
  auto in = OpenOrDie(kStories);
  auto out = OpenOrDie(out_path);
  ASSERT_TRUE(in && out);
  ExpectMetadataCopied(*in, *out, FileType::kQ8_0);
  ASSERT_EQ(out->tensors().size(), in->tensors().size());
  EXPECT_EQ(report->file_bytes, out->file_size());
  for (const auto& t : out->tensors()) {
    const auto* src = in->FindTensor(t.name);
    ASSERT_NE(src, nullptr);
    EXPECT_EQ(std::vector(t.dims.begin(), t.dims.end()),
              std::vector(src->dims.begin(), src->dims.end()));
    TensorType expect = TensorType::kQ8_0;
    if (t.n_dims == 1) expect = TensorType::kF32;
    if (t.row_length() == 172) expect = TensorType::kF16;  // ffn_down
    EXPECT_EQ(t.type, expect) << t.name;
    // Dequantized values stay within half a Q8_0 step of the source.
    std::vector<float> a(t.n_elements), b(t.n_elements);
    for (uint64_t r = 0; r < t.rows(); ++r) {
      tensor::Traits(t.type).dequantize_row(t.data + r * t.n_bytes / t.rows(),
                                            a.data() + r * t.row_length(),
                                            t.row_length());
      std::memcpy(b.data() + r * t.row_length(),
                  src->data + r * src->n_bytes / src->rows(),
                  t.row_length() * sizeof(float));
    }
    for (uint64_t i = 0; i < t.n_elements; ++i) {
      ASSERT_NEAR(a[i], b[i], std::fabs(b[i]) * 0.01f + 0.02f) << t.name;
    }
  }
}

TEST_F(ModelQuantizerTest, StoriesToQ4KPureFallsBackToQ5_0AndF16) {
  const std::string out_path = Path("stories-q4_k.gguf");
  auto report = QuantizeModel({.input_path = kStories,
                               .output_path = out_path,
                               .file_type = FileType::kQ4_K_M,
                               .pure = true,
                               .n_threads = 1});
  ASSERT_TRUE(report.ok()) << report.status();
  auto out = OpenOrDie(out_path);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out->GetUint("general.file_type"), 15u);
  int fallbacks = 0;
  for (const auto& t : report->tensors) fallbacks += t.fallback ? 1 : 0;
  EXPECT_EQ(fallbacks, 37);  // all 5 * 7 + 2 matrices: no rows of 256
  for (const auto& t : out->tensors()) {
    TensorType expect = TensorType::kQ5_0;  // rows of 64: Q4_K -> Q5_0
    if (t.n_dims == 1) expect = TensorType::kF32;
    if (t.row_length() == 172) expect = TensorType::kF16;  // nor 32
    EXPECT_EQ(t.type, expect) << t.name;
  }
}

// The synth models of every type were made by llama.cpp's quantizer with
// --pure from the F32 file; ours must give the same tensor bytes.
class SynthPureTest
    : public ModelQuantizerTest,
      public ::testing::WithParamInterface<std::pair<const char*, FileType>> {};

TEST_P(SynthPureTest, ReproducesLlamaCppTensorBytes) {
  const auto [suffix, ftype] = GetParam();
  const std::string out_path = Path(std::string("synth-") + suffix + ".gguf");
  auto report =
      QuantizeModel({.input_path = kSynthDir + "/synth-llama-256-F32.gguf",
                     .output_path = out_path,
                     .file_type = ftype,
                     .pure = true,
                     .n_threads = 2});
  ASSERT_TRUE(report.ok()) << report.status();
  auto ours = OpenOrDie(out_path);
  auto theirs = OpenOrDie(kSynthDir + "/synth-llama-256-" +
                          std::string(suffix) + ".gguf");
  ASSERT_TRUE(ours && theirs);
  EXPECT_EQ(*ours->GetUint("general.file_type"),
            *theirs->GetUint("general.file_type"));
  ASSERT_EQ(ours->tensors().size(), theirs->tensors().size());
  for (const auto& t : theirs->tensors()) {
    const auto* mine = ours->FindTensor(t.name);
    ASSERT_NE(mine, nullptr) << t.name;
    ASSERT_EQ(mine->type, t.type) << t.name;
    ASSERT_EQ(mine->n_bytes, t.n_bytes) << t.name;
    EXPECT_EQ(std::memcmp(mine->data, t.data, t.n_bytes), 0)
        << suffix << " " << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, SynthPureTest,
    ::testing::Values(
        std::pair{"F16", FileType::kF16}, std::pair{"BF16", FileType::kBF16},
        std::pair{"Q8_0", FileType::kQ8_0}, std::pair{"Q6_K", FileType::kQ6_K},
        std::pair{"Q5_K", FileType::kQ5_K_M},
        std::pair{"Q5_1", FileType::kQ5_1}, std::pair{"Q5_0", FileType::kQ5_0},
        std::pair{"Q4_K", FileType::kQ4_K_M},
        std::pair{"Q4_1", FileType::kQ4_1}, std::pair{"Q4_0", FileType::kQ4_0},
        std::pair{"IQ4_NL", FileType::kIQ4_NL},
        std::pair{"IQ4_XS", FileType::kIQ4_XS},
        std::pair{"Q3_K", FileType::kQ3_K_M},
        std::pair{"Q2_K", FileType::kQ2_K}),
    [](const auto& info) { return std::string(info.param.first); });

// Q4_K_M on the 2-layer synth model, by llama_tensor_get_type:
// use_more_bits(i, 2) holds only for i = 1 (i >= 7 * 2 / 8), so layer 1's
// attn_v and ffn_down get Q6_K; output.weight gets Q6_K; token_embd is not
// tied (output.weight exists) and keeps Q4_K; norms stay F32.
TEST_F(ModelQuantizerTest, SynthQ4KMGivesLlamaCppMix) {
  const std::string out_path = Path("synth-q4_k_m.gguf");
  auto report =
      QuantizeModel({.input_path = kSynthDir + "/synth-llama-256-F32.gguf",
                     .output_path = out_path,
                     .file_type = FileType::kQ4_K_M,
                     .n_threads = 2});
  ASSERT_TRUE(report.ok()) << report.status();
  auto out = OpenOrDie(out_path);
  ASSERT_TRUE(out);
  const std::map<std::string, TensorType> expect = {
      {"token_embd.weight", TensorType::kQ4_K},
      {"output_norm.weight", TensorType::kF32},
      {"output.weight", TensorType::kQ6_K},
      {"blk.0.attn_norm.weight", TensorType::kF32},
      {"blk.0.attn_q.weight", TensorType::kQ4_K},
      {"blk.0.attn_k.weight", TensorType::kQ4_K},
      {"blk.0.attn_v.weight", TensorType::kQ4_K},
      {"blk.0.attn_output.weight", TensorType::kQ4_K},
      {"blk.0.ffn_norm.weight", TensorType::kF32},
      {"blk.0.ffn_gate.weight", TensorType::kQ4_K},
      {"blk.0.ffn_up.weight", TensorType::kQ4_K},
      {"blk.0.ffn_down.weight", TensorType::kQ4_K},
      {"blk.1.attn_norm.weight", TensorType::kF32},
      {"blk.1.attn_q.weight", TensorType::kQ4_K},
      {"blk.1.attn_k.weight", TensorType::kQ4_K},
      {"blk.1.attn_v.weight", TensorType::kQ6_K},
      {"blk.1.attn_output.weight", TensorType::kQ4_K},
      {"blk.1.ffn_norm.weight", TensorType::kF32},
      {"blk.1.ffn_gate.weight", TensorType::kQ4_K},
      {"blk.1.ffn_up.weight", TensorType::kQ4_K},
      {"blk.1.ffn_down.weight", TensorType::kQ6_K},
  };
  EXPECT_EQ(TypesByName(*out), expect);
  // The Q4_K tensors equal the pure Q4_K file's (same quantizer, same rows).
  auto pure = OpenOrDie(kSynthDir + "/synth-llama-256-Q4_K.gguf");
  ASSERT_TRUE(pure);
  for (const auto& t : out->tensors()) {
    if (t.type != TensorType::kQ4_K) continue;
    const auto* p = pure->FindTensor(t.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::memcmp(p->data, t.data, t.n_bytes), 0) << t.name;
  }
}

TEST_F(ModelQuantizerTest, RefusesToOverwriteTheInput) {
  const std::string copy = Path("model.gguf");
  fs::copy_file(kStories, copy);
  const std::string link = Path("link.gguf");
  fs::create_symlink(copy, link);
  for (const std::string& out : {copy, link}) {
    auto report = QuantizeModel(
        {.input_path = copy, .output_path = out, .file_type = FileType::kQ8_0});
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument)
        << out;
  }
  EXPECT_EQ(fs::file_size(copy), fs::file_size(kStories));
}

TEST_F(ModelQuantizerTest, RefusesUnreadableInputs) {
  auto missing = QuantizeModel({.input_path = Path("missing.gguf"),
                                .output_path = Path("out.gguf"),
                                .file_type = FileType::kQ8_0});
  EXPECT_FALSE(missing.ok());
  // A type ggufd cannot dequantize (iq2_xxs: 66 bytes per 256 values).
  gguf::GgufWriter writer;
  writer.AddString("general.architecture", "llama");
  const std::vector<uint64_t> dims = {256, 2};
  writer.AddTensor("blk.0.attn_q.weight", TensorType::kIQ2_XXS, dims,
                   std::vector<uint8_t>(2 * 66, 0));
  ASSERT_TRUE(writer.WriteFile(Path("iq2.gguf")).ok());
  auto report = QuantizeModel({.input_path = Path("iq2.gguf"),
                               .output_path = Path("out.gguf"),
                               .file_type = FileType::kQ8_0});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnimplemented)
      << report.status();
  EXPECT_FALSE(fs::exists(Path("out.gguf")));
  EXPECT_FALSE(fs::exists(Path("out.gguf.tmp")));
}

TEST_F(ModelQuantizerTest, NonFiniteWeightsFailWithoutLeavingFiles) {
  gguf::GgufWriter writer;
  writer.AddString("general.architecture", "llama");
  std::vector<float> values(64 * 4, 0.5f);
  values[100] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<uint64_t> dims = {64, 4};
  writer.AddTensor("blk.0.attn_q.weight", TensorType::kF32, dims,
                   {reinterpret_cast<const uint8_t*>(values.data()),
                    values.size() * sizeof(float)});
  ASSERT_TRUE(writer.WriteFile(Path("nan.gguf")).ok());
  auto report = QuantizeModel({.input_path = Path("nan.gguf"),
                               .output_path = Path("out.gguf"),
                               .file_type = FileType::kQ8_0});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("blk.0.attn_q.weight row 1"),
            absl::string_view::npos)
      << report.status();
  EXPECT_FALSE(fs::exists(Path("out.gguf")));
  EXPECT_FALSE(fs::exists(Path("out.gguf.tmp")));
}

TEST_F(ModelQuantizerTest, KeepsTheInputAlignment) {
  gguf::GgufWriter writer(/*alignment=*/64);
  writer.AddString("general.architecture", "llama");
  writer.AddUint32("general.alignment", 64);
  const std::vector<uint64_t> dims = {32, 3};
  const std::vector<float> values(96, 0.25f);
  for (const char* name : {"blk.0.attn_q.weight", "blk.0.attn_k.weight"}) {
    writer.AddTensor(name, TensorType::kF32, dims,
                     {reinterpret_cast<const uint8_t*>(values.data()),
                      values.size() * sizeof(float)});
  }
  ASSERT_TRUE(writer.WriteFile(Path("a64.gguf")).ok());
  auto report = QuantizeModel({.input_path = Path("a64.gguf"),
                               .output_path = Path("out.gguf"),
                               .file_type = FileType::kQ4_0});
  ASSERT_TRUE(report.ok()) << report.status();
  auto out = OpenOrDie(Path("out.gguf"));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->alignment(), 64u);
  for (const auto& t : out->tensors()) {
    EXPECT_EQ(t.type, TensorType::kQ4_0);
    EXPECT_EQ(t.offset % 64, 0u);
  }
}

}  // namespace
}  // namespace ggufd::quantize
