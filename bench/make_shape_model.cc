// Writes a random-weight F16 model with the shapes of a real one, so the
// benchmarks can measure prefill/decode at sizes the small test models do not
// reach (no model hub is reachable to fetch the real weights). Only the
// shapes matter for speed; the weights are scaled so activations stay O(1)
// (see tests/runtime/model/random_arch_model.cc). bench/shape_models.sh runs
// this and quantizes the results.
//   make_shape_model --shape tinyllama|llama32-1b|qwen25-05b --out FILE
//                    [--seed N] [--testdata DIR]
#include <cstdio>
#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "tests/runtime/model/random_arch_model.h"

namespace ggufd {
namespace {

using model::testing::RandomArchSpec;

struct Shape {
  RandomArchSpec spec;
  // A vocabulary from shared/testdata/llama.cpp-vocab; spec.n_vocab pads it
  // to the real model's embedding rows when the real tokenizer is not there.
  std::string vocab;
};

// Neither the llama-bpe (Llama 3) nor a qwen2 vocabulary is in the test data;
// dbrx's is the closest: a BPE of the same cl100k family with the Llama 3
// pre-tokenizer regex (Qwen2's differs only in splitting digits one by one).
// llama32-1b leaves out the llama3 RoPE frequency factors (rope_freqs.weight),
// which change no matrix shape and only the RoPE angles.
const std::map<std::string, Shape>& Shapes() {
  static const auto* shapes = new std::map<std::string, Shape>{
      {"tinyllama",
       {{.arch = "llama",
         .n_layer = 22,
         .n_embd = 2048,
         .n_ff = 5632,
         .n_head = 32,
         .n_head_kv = 4,
         .head_dim = 64,
         .rms_eps = 1e-5f,
         .f16 = true,
         .context_length = 2048,
         .vocab_stddev = 0.02f},
        "ggml-vocab-llama-spm.gguf"}},
      {"llama32-1b",
       {{.arch = "llama",
         .n_layer = 16,
         .n_embd = 2048,
         .n_ff = 8192,
         .n_head = 32,
         .n_head_kv = 8,
         .head_dim = 64,
         .rope_freq_base = 500000.0f,
         .rms_eps = 1e-5f,
         .tied = true,
         .f16 = true,
         .context_length = 131072,
         .n_vocab = 128256,
         .vocab_stddev = 0.02f},
        "ggml-vocab-dbrx.gguf"}},
      {"qwen25-05b",
       {{.arch = "qwen2",
         .n_layer = 24,
         .n_embd = 896,
         .n_ff = 4864,
         .n_head = 14,
         .n_head_kv = 2,
         .head_dim = 64,
         .rope_freq_base = 1000000.0f,
         .rms_eps = 1e-6f,
         .qkv_bias = true,
         .tied = true,
         .f16 = true,
         .context_length = 32768,
         .n_vocab = 151936,
         .vocab_stddev = 0.02f},
        "ggml-vocab-dbrx.gguf"}},
  };
  return *shapes;
}

int Main(int argc, char** argv) {
  std::string shape_name, out, testdata = GGUFD_TESTDATA_DIR;
  uint64_t seed = 1;
  CLI::App app{"Random-weight F16 GGUF models of real models' shapes"};
  std::map<std::string, std::string> names;
  for (const auto& [name, shape] : Shapes()) names[name] = name;
  app.add_option("--shape", shape_name, "Model shape")
      ->required()
      ->transform(CLI::CheckedTransformer(names));
  app.add_option("--out", out, "GGUF file to write")->required();
  app.add_option("--seed", seed, "Seed of the weights");
  app.add_option("--testdata", testdata, "shared/testdata folder (vocabs)");
  CLI11_PARSE(app, argc, argv);

  Shape shape = Shapes().at(shape_name);
  shape.spec.seed = seed;
  const std::string vocab = testdata + "/llama.cpp-vocab/" + shape.vocab;
  const absl::Status status =
      model::testing::WriteRandomArchModel(shape.spec, vocab, out);
  if (!status.ok()) {
    std::fprintf(stderr, "make_shape_model: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("%s: %s shape, vocabulary of %s\n", out.c_str(),
              shape_name.c_str(), shape.vocab.c_str());
  return 0;
}

}  // namespace
}  // namespace ggufd

int main(int argc, char** argv) { return ggufd::Main(argc, argv); }
