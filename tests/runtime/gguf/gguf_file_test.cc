#include "runtime/gguf/gguf_file.h"

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_writer.h"

namespace ggufd::gguf {
namespace {

using tensor::TensorType;
using ::testing::HasSubstr;

const std::string kTestdata = GGUFD_TESTDATA_DIR;

// Raw little-endian bytes, for layouts the writer refuses to produce.
struct Raw {
  std::vector<uint8_t> b;
  template <typename T>
  Raw& Put(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  Raw& Str(std::string_view s) {
    Put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Raw& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    Put<uint32_t>(0x46554747).Put<uint32_t>(version);
    return Put(n_tensors).Put(n_kv);
  }
  Raw& Pad(size_t alignment = 32) {
    b.resize((b.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
};

absl::Status ParseStatus(const std::vector<uint8_t>& bytes) {
  return GgufFile::Parse(bytes).status();
}

MATCHER_P(ErrorWith, text, "") {
  return !arg.ok() &&
         std::string(arg.message()).find(text) != std::string::npos;
}

std::vector<uint8_t> SmallModel() {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.block_count", 1);
  w.AddFloat32("llama.rope.freq_base", 10000.0f);
  w.AddBool("tokenizer.ggml.add_bos_token", true);
  w.AddStringArray("tokenizer.ggml.tokens",
                   std::vector<std::string>{"a", "b", "c"});
  w.AddFloat32Array("tokenizer.ggml.scores",
                    std::vector<float>{0.5f, -1.0f, 2.0f});
  w.AddInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 3, 6});
  std::vector<float> weights(64 * 2);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = static_cast<float>(i);
  const uint64_t dims[] = {64, 2};
  w.AddTensor("w", TensorType::kF32, dims,
              {reinterpret_cast<const uint8_t*>(weights.data()),
               weights.size() * sizeof(float)});
  std::vector<uint8_t> q(2 * 34, 0);
  const uint64_t qdims[] = {64};
  w.AddTensor("q", TensorType::kQ8_0, qdims, q);
  return w.Serialize();
}

TEST(GgufFileTest, WriterRoundTrip) {
  const auto bytes = SmallModel();
  auto file = GgufFile::Parse(bytes);
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 7u);
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.GetUint("llama.block_count"), 1u);
  EXPECT_EQ(*f.GetInt("llama.block_count"), 1);
  EXPECT_FLOAT_EQ(*f.GetFloat("llama.rope.freq_base"), 10000.0);
  EXPECT_TRUE(*f.GetBool("tokenizer.ggml.add_bos_token"));
  EXPECT_THAT(*f.GetStringArray("tokenizer.ggml.tokens"),
              ::testing::ElementsAre("a", "b", "c"));
  EXPECT_THAT(*f.GetFloatArray("tokenizer.ggml.scores"),
              ::testing::ElementsAre(0.5f, -1.0f, 2.0f));
  EXPECT_THAT(*f.GetIntArray("tokenizer.ggml.token_type"),
              ::testing::ElementsAre(1, 3, 6));
  EXPECT_EQ(f.ArrayLength("tokenizer.ggml.tokens"), 3u);
  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorInfo* w = f.FindTensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->n_elements, 128u);
  EXPECT_EQ(w->rows(), 2u);
  EXPECT_EQ(w->n_bytes, 512u);
  float last;
  std::memcpy(&last, w->data + 127 * sizeof(float), sizeof(float));
  EXPECT_EQ(last, 127.0f);
  EXPECT_EQ(f.FindTensor("q")->n_bytes, 68u);
  EXPECT_EQ(f.FindTensor("missing"), nullptr);
}

TEST(GgufFileTest, TypedAccessorsRejectWrongTypes) {
  const auto bytes = SmallModel();
  auto file = GgufFile::Parse(bytes);
  ASSERT_TRUE(file.ok());
  const GgufFile& f = **file;
  EXPECT_EQ(f.GetUint("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(f.GetUint("general.architecture").status(),
              ErrorWith("'general.architecture' is str, expected an integer"));
  EXPECT_THAT(f.GetString("llama.block_count").status(), ErrorWith("is u32"));
  EXPECT_THAT(f.GetStringArray("tokenizer.ggml.scores").status(),
              ErrorWith("array of f32"));
  EXPECT_THAT(f.GetBool("llama.block_count").status(),
              ErrorWith("expected a bool"));
  EXPECT_EQ(*f.GetUintOr("absent", 7), 7u);
  EXPECT_EQ(*f.GetStringOr("absent", "x"), "x");
  EXPECT_FALSE(f.GetUintOr("general.architecture", 7).ok());
}

TEST(GgufFileTest, NegativeIntegerIsNotUnsigned) {
  GgufWriter w;
  w.AddInt32("n", -5);
  const auto bytes = w.Serialize();
  auto file = GgufFile::Parse(bytes);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*(*file)->GetInt("n"), -5);
  EXPECT_THAT((*file)->GetUint("n").status(), ErrorWith("negative"));
}

TEST(GgufFileTest, EveryTruncationFailsCleanly) {
  const auto bytes = SmallModel();
  auto full = GgufFile::Parse(bytes);
  ASSERT_TRUE(full.ok());
  // Only the padding after the last tensor may be cut away.
  size_t needed = 0;
  for (const auto& t : (*full)->tensors()) {
    needed = std::max<size_t>(needed, t.data + t.n_bytes - bytes.data());
  }
  for (size_t n = 0; n < needed; ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_FALSE(ParseStatus(cut).ok()) << "prefix of " << n << " bytes";
  }
}

TEST(GgufFileTest, EverySingleByteCorruptionIsSafe) {
  // Not every flip is an error (a flipped float is still a float), but none
  // may crash or be accepted with inconsistent tensors.
  const auto bytes = SmallModel();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      auto copy = bytes;
      copy[i] ^= flip;
      auto file = GgufFile::Parse(copy);
      if (!file.ok()) continue;
      for (const auto& t : (*file)->tensors()) {
        ASSERT_GE(t.data, copy.data());
        ASSERT_LE(t.data + t.n_bytes, copy.data() + copy.size());
      }
    }
  }
}

TEST(GgufFileTest, HeaderErrors) {
  EXPECT_THAT(ParseStatus({'G', 'G', 'U', 'X', 3, 0, 0, 0}),
              ErrorWith("bad magic"));
  EXPECT_THAT(ParseStatus(Raw().Header(0, 0, 4).b),
              ErrorWith("unsupported GGUF version 4"));
  EXPECT_THAT(ParseStatus(Raw().Header(0, 0, 0x03000000).b),
              ErrorWith("big-endian"));
  EXPECT_THAT(ParseStatus(Raw().Header(0, uint64_t{1} << 60).b),
              ErrorWith("metadata count 1152921504606846976 cannot fit"));
  EXPECT_THAT(ParseStatus(Raw().Header(uint64_t{1} << 62, 0).b),
              ErrorWith("tensor count"));
  EXPECT_TRUE(ParseStatus(Raw().Header(0, 0).b).ok());
}

TEST(GgufFileTest, MetadataErrors) {
  EXPECT_THAT(
      ParseStatus(
          Raw().Header(0, 1).Str("k").Put<uint32_t>(13).Put<uint32_t>(0).b),
      ErrorWith("key 'k' has invalid value type 13"));
  EXPECT_THAT(ParseStatus(Raw()
                              .Header(0, 1)
                              .Put<uint64_t>(uint64_t{1} << 40)
                              .Put<uint32_t>(0)
                              .Put<uint16_t>(0)
                              .b),
              ErrorWith("key #0 length 1099511627776 exceeds"));
  EXPECT_THAT(
      ParseStatus(
          Raw().Header(0, 1).Str("k").Put<uint32_t>(8).Put<uint64_t>(1000).b),
      ErrorWith("needs 1000 bytes"));
  EXPECT_THAT(
      ParseStatus(
          Raw().Header(0, 1).Str("").Put<uint32_t>(0).Put<uint16_t>(0).b),
      ErrorWith("key #0 is empty"));
  EXPECT_THAT(ParseStatus(Raw()
                              .Header(0, 2)
                              .Str("k")
                              .Put<uint32_t>(0)
                              .Put<uint8_t>(1)
                              .Str("k")
                              .Put<uint32_t>(0)
                              .Put<uint8_t>(2)
                              .b),
              ErrorWith("duplicate key 'k' with a different value"));
  // An exact repeat (ggml-vocab-dbrx.gguf has one) keeps the first.
  EXPECT_TRUE(ParseStatus(Raw()
                              .Header(0, 2)
                              .Str("k")
                              .Put<uint32_t>(0)
                              .Put<uint8_t>(1)
                              .Str("k")
                              .Put<uint32_t>(0)
                              .Put<uint8_t>(1)
                              .b)
                  .ok());
  EXPECT_THAT(
      ParseStatus(
          Raw().Header(0, 1).Str("b").Put<uint32_t>(7).Put<uint8_t>(2).b),
      ErrorWith("bool value 2"));
  // Arrays: nested, bad element type, lengths beyond the file.
  EXPECT_THAT(ParseStatus(Raw()
                              .Header(0, 1)
                              .Str("a")
                              .Put<uint32_t>(9)
                              .Put<uint32_t>(9)
                              .Put<uint64_t>(0)
                              .b),
              ErrorWith("nested arrays"));
  EXPECT_THAT(ParseStatus(Raw()
                              .Header(0, 1)
                              .Str("a")
                              .Put<uint32_t>(9)
                              .Put<uint32_t>(77)
                              .Put<uint64_t>(0)
                              .b),
              ErrorWith("invalid element type 77"));
  EXPECT_THAT(ParseStatus(Raw()
                              .Header(0, 1)
                              .Str("a")
                              .Put<uint32_t>(9)
                              .Put<uint32_t>(10)
                              .Put<uint64_t>(uint64_t{1} << 61)
                              .b),
              ErrorWith("array 'a' length 2305843009213693952 cannot fit"));
  EXPECT_THAT(ParseStatus(Raw()
                              .Header(0, 1)
                              .Str("a")
                              .Put<uint32_t>(9)
                              .Put<uint32_t>(8)
                              .Put<uint64_t>(uint64_t{1} << 59)
                              .b),
              ErrorWith("cannot fit"));
}

TEST(GgufFileTest, AlignmentErrors) {
  auto with_alignment = [](uint32_t type, uint32_t value) {
    return Raw()
        .Header(0, 1)
        .Str("general.alignment")
        .Put<uint32_t>(type)
        .Put(value)
        .b;
  };
  EXPECT_TRUE(ParseStatus(with_alignment(4, 64)).ok());
  EXPECT_THAT(ParseStatus(with_alignment(4, 0)),
              ErrorWith("not a power of two"));
  EXPECT_THAT(ParseStatus(with_alignment(4, 48)),
              ErrorWith("not a power of two"));
  EXPECT_THAT(ParseStatus(with_alignment(4, 1u << 30)),
              ErrorWith("not a power of two"));
  EXPECT_THAT(ParseStatus(with_alignment(5, 32)), ErrorWith("must be u32"));
}

// One tensor "t": n_dims, dims, type, offset; followed by `data_bytes` of data.
std::vector<uint8_t> OneTensor(std::vector<uint64_t> dims, uint32_t type,
                               uint64_t offset, size_t data_bytes,
                               uint32_t n_dims_override = 0) {
  Raw r;
  r.Header(1, 0).Str("t").Put<uint32_t>(
      n_dims_override ? n_dims_override : static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) r.Put(d);
  r.Put(type).Put(offset).Pad();
  r.b.resize(r.b.size() + data_bytes, 0);
  return r.b;
}

TEST(GgufFileTest, TensorErrors) {
  EXPECT_TRUE(ParseStatus(OneTensor({32, 2}, 8, 0, 68)).ok());
  EXPECT_THAT(ParseStatus(OneTensor({32, 2}, 8, 0, 67)),
              ErrorWith("outside the data section"));
  EXPECT_THAT(ParseStatus(OneTensor({}, 0, 0, 4)),
              ErrorWith("has 0 dimensions"));
  EXPECT_THAT(ParseStatus(OneTensor({1, 1, 1, 1, 1}, 0, 0, 4)),
              ErrorWith("has 5 dimensions"));
  EXPECT_THAT(ParseStatus(OneTensor({4, 0}, 0, 0, 16)),
              ErrorWith("dimension 1 is 0"));
  EXPECT_THAT(ParseStatus(OneTensor({uint64_t{1} << 63, 1}, 0, 0, 4)),
              ErrorWith("negative as int64"));
  EXPECT_THAT(
      ParseStatus(OneTensor({uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0, 4)),
      ErrorWith("element count overflows"));
  EXPECT_THAT(ParseStatus(OneTensor({32}, 4, 0, 32)),
              ErrorWith("unknown type id 4"));
  EXPECT_THAT(ParseStatus(OneTensor({32}, 1000, 0, 32)),
              ErrorWith("unknown type id 1000"));
  EXPECT_THAT(
      ParseStatus(OneTensor({33, 2}, 8, 0, 4096)),
      ErrorWith("33 elements per row, not a multiple of the block size 32"));
  EXPECT_THAT(ParseStatus(OneTensor({8}, 0, 3, 64)), ErrorWith("not aligned"));
  EXPECT_THAT(ParseStatus(OneTensor({8}, 0, uint64_t{1} << 62, 64)),
              ErrorWith("data offset 4611686018427387904, expected 0"));
  // Big dims whose byte size would wrap around.
  EXPECT_FALSE(
      ParseStatus(OneTensor({uint64_t{1} << 31, uint64_t{1} << 31}, 0, 0, 64))
          .ok());
}

// Two f32 tensors of 16 values (64 bytes each) at the given data offsets.
std::vector<uint8_t> TwoTensors(std::string_view a, uint64_t off_a,
                                std::string_view b, uint64_t off_b,
                                uint32_t alignment = 32) {
  Raw r;
  r.Header(2, alignment == 32 ? 0 : 1);
  if (alignment != 32) {
    r.Str("general.alignment").Put<uint32_t>(4).Put(alignment);
  }
  r.Str(a).Put<uint32_t>(1).Put<uint64_t>(16).Put<uint32_t>(0).Put(off_a);
  r.Str(b).Put<uint32_t>(1).Put<uint64_t>(16).Put<uint32_t>(0).Put(off_b);
  r.Pad(alignment);
  r.b.resize(r.b.size() + 512, 0);
  return r.b;
}

TEST(GgufFileTest, OverlappingAndDuplicateTensors) {
  EXPECT_TRUE(ParseStatus(TwoTensors("a", 0, "b", 64)).ok());
  EXPECT_THAT(ParseStatus(TwoTensors("a", 0, "b", 32)),
              ErrorWith("tensor 'b' data offset 32, expected 64"));
  EXPECT_THAT(ParseStatus(TwoTensors("a", 0, "b", 0)),
              ErrorWith("tensor 'b' data offset 0, expected 64"));
  EXPECT_THAT(ParseStatus(TwoTensors("a", 0, "a", 64)),
              ErrorWith("duplicate tensor name 'a'"));
}

// Regression (issue 10): llama.cpp's gguf reader requires each tensor's data
// to start exactly where the previous one's ends, padded to the alignment;
// ggufd used to take any non-overlapping placement.
TEST(GgufFileTest, TensorDataMustFollowTheTableInOrder) {
  // Swapped: b's data before a's.
  EXPECT_THAT(ParseStatus(TwoTensors("a", 64, "b", 0)),
              ErrorWith("tensor 'a' data offset 64, expected 0 (tensor data "
                        "must follow the tensor table in order"));
  // A gap: b one alignment step later than it should be.
  EXPECT_THAT(ParseStatus(TwoTensors("a", 0, "b", 96)),
              ErrorWith("tensor 'b' data offset 96, expected 64"));
  // Padding follows general.alignment: with 128, b starts at 128.
  EXPECT_TRUE(ParseStatus(TwoTensors("a", 0, "b", 128, 128)).ok());
  EXPECT_THAT(ParseStatus(TwoTensors("a", 0, "b", 256, 128)),
              ErrorWith("tensor 'b' data offset 256, expected 128"));
  // The error names the tensor table entry's byte offset.
  EXPECT_THAT(ParseStatus(TwoTensors("a", 0, "b", 96)),
              ErrorWith("at offset 57:"));
}

// Regression (issue 10): ggml keeps tensor names in a 64-byte field and
// llama.cpp refuses names of 64 bytes or more.
TEST(GgufFileTest, TensorNamesFitGgmlsNameField) {
  const std::string longest(63, 'n');
  EXPECT_TRUE(ParseStatus(TwoTensors(longest, 0, "b", 64)).ok());
  EXPECT_THAT(ParseStatus(TwoTensors(longest + "n", 0, "b", 64)),
              ErrorWith("tensor #0 name length 64 exceeds the limit of 63"));
}

TEST(GgufFileTest, RequireSupportedTypes) {
  const auto bytes = OneTensor({256}, 16, 0, 66);  // iq2_xxs
  EXPECT_TRUE(GgufFile::Parse(bytes).ok());
  EXPECT_THAT(
      GgufFile::Parse(bytes, {.require_supported_types = true}).status(),
      ErrorWith("unsupported type iq2_xxs"));
}

TEST(GgufFileTest, MissingFileIsNotFound) {
  auto file = GgufFile::Open("/nonexistent/model.gguf");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(GgufFile::Open("/").ok());
}

TEST(GgufFileTest, ReadsStories260K) {
  auto file = GgufFile::Open(kTestdata + "/models/stories260K.gguf");
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.GetUint("llama.embedding_length"), 64u);
  EXPECT_EQ(f.ArrayLength("tokenizer.ggml.tokens"), 512u);
  EXPECT_EQ(f.tensors().size(), 48u);
  const TensorInfo* embd = f.FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, TensorType::kF32);
  EXPECT_EQ(embd->dims[0], 64u);
  EXPECT_EQ(embd->dims[1], 512u);
  EXPECT_EQ(embd->n_bytes, 64u * 512 * 4);
  EXPECT_EQ(f.FindTensor("blk.4.ffn_down.weight")->dims[0], 172u);
}

TEST(GgufFileTest, LegacyV1HasTheSameWeightsAsV3) {
  auto v3 = GgufFile::Open(kTestdata + "/models/stories260K.gguf");
  auto v1 = GgufFile::Open(kTestdata +
                           "/legacy/gguf-v1/tinyllamas-stories-260k-f32.gguf");
  ASSERT_TRUE(v3.ok() && v1.ok()) << v1.status();
  EXPECT_EQ((*v1)->version(), 1u);
  EXPECT_EQ(*(*v1)->GetString("llama.tensor_data_layout"),
            "Meta AI original pth");
  ASSERT_EQ((*v1)->tensors().size(), (*v3)->tensors().size());
  for (const auto& t : (*v3)->tensors()) {
    const TensorInfo* old = (*v1)->FindTensor(t.name);
    ASSERT_NE(old, nullptr) << t.name;
    EXPECT_EQ(old->dims, t.dims) << t.name;
    ASSERT_EQ(old->n_bytes, t.n_bytes);
    EXPECT_EQ(std::memcmp(old->data, t.data, t.n_bytes), 0) << t.name;
  }
  EXPECT_FALSE(
      GgufFile::Open(
          kTestdata + "/legacy/gguf-v1/tinyllamas-stories-260k-f32.gguf",
          {.allow_v1 = false})
          .ok());
}

TEST(GgufFileTest, LegacyV2VocabOnly) {
  auto file =
      GgufFile::Open(kTestdata + "/legacy/gguf-v2/ggml-vocab-falcon.gguf");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->version(), 2u);
  EXPECT_EQ((*file)->ArrayLength("tokenizer.ggml.tokens"), 65024u);
  EXPECT_EQ((*file)->ArrayLength("tokenizer.ggml.scores"), 65024u);
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_FALSE((*file)->Has("tokenizer.ggml.pre"));
}

TEST(GgufFileTest, NonconformingObjectTypeIsRefused) {
  auto file = GgufFile::Open(kTestdata + "/nonconforming/test_writer.gguf");
  EXPECT_THAT(file.status(),
              ErrorWith("key 'dict1' has invalid value type 13"));
}

TEST(GgufFileTest, EveryVocabFileOpens) {
  int opened = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(kTestdata + "/llama.cpp-vocab")) {
    if (entry.path().extension() != ".gguf") continue;
    auto file = GgufFile::Open(entry.path().string());
    ASSERT_TRUE(file.ok()) << entry.path() << ": " << file.status();
    EXPECT_GT((*file)->ArrayLength("tokenizer.ggml.tokens"), 0u)
        << entry.path();
    ++opened;
  }
  EXPECT_EQ(opened, 13);
}

TEST(GgufFileTest, KernelFilesDeclareTheirTypes) {
  int opened = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(kTestdata + "/kernels")) {
    auto file = GgufFile::Open(entry.path().string());
    ASSERT_TRUE(file.ok()) << entry.path() << ": " << file.status();
    const TensorInfo* weight = (*file)->FindTensor("weight");
    ASSERT_NE(weight, nullptr);
    EXPECT_EQ(static_cast<int64_t>(weight->type),
              *(*file)->GetInt("test.type_id"));
    EXPECT_EQ(tensor::TensorTypeName(static_cast<uint32_t>(weight->type)),
              *(*file)->GetString("test.type_name"));
    EXPECT_EQ(weight->dims[0], 1024u);
    EXPECT_EQ(weight->dims[1], 16u);
    ++opened;
  }
  EXPECT_EQ(opened, 15);
}

TEST(GgufFileTest, DefaultModelOpens) {
  const std::string path =
      std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << "run deploy/setup.sh first";
  auto file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*(*file)->GetString("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ((*file)->FindTensor("blk.0.attn_q.weight")->type,
            TensorType::kQ4_1);
}

}  // namespace
}  // namespace ggufd::gguf
