// Tokenizer throughput (MB/s, 1 MB = 10^6 bytes) on a few MB of mixed text:
// prose, code, numbers, German, CJK and emoji from a deterministic
// generator, encoded in one call as llama.cpp's bench-tokenize does.
//
//   tokenizer_bench [--model=FILE] [--write-text=FILE] [benchmark flags]
//
// --model defaults to the default model (SmolLM2, byte-level BPE);
// --write-text saves the generated text so that the reference can be timed
// on exactly the same bytes (bench/tokenizer_vs_reference.sh).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/streaming_decoder.h"
#include "runtime/tokenizer/tokenizer.h"

namespace {

using ggufd::tokenizer::Tokenizer;

constexpr size_t kTextBytes = 4'000'000;

// Mixed text from a fixed seed: the same bytes on every run and machine.
std::string MakeText(size_t size) {
  static const char* kWords[] = {
      "the",          "of",         "and",        "to",         "in",
      "is",           "that",       "for",        "it",         "with",
      "as",           "was",        "on",         "model",      "token",
      "server",       "request",    "stream",     "language",   "inference",
      "quantization", "throughput", "Kubernetes", "isn't",      "we'll",
      "they're",      "HTTP/2",     "gRPC",       "JSON",       "UTF-8",
      "Über",         "Straße",     "naïve",      "café",       "日本語",
      "模型",         "推理",       "😀",          "🚀",          "Привет",
      "мир",          "¿qué?",      "3.14159",    "2024-05-07", "1,000,000"};
  static const char* kCode[] = {
      "for (int i = 0; i < n; ++i) {\n  sum += x[i] * w[i];\n}\n",
      "def tokenize(text: str) -> list[int]:\n    return enc.encode(text)\n",
      "    if err != nil {\n\t\treturn nil, fmt.Errorf(\"load: %w\", "
      "err)\n\t}\n",
      "<div class=\"row\">{{ item.name }}</div>\n"};
  std::mt19937 rng(20240507);
  std::string text;
  text.reserve(size + 128);
  while (text.size() < size) {
    const uint32_t r = rng() % 100;
    if (r < 4) {
      text += kCode[rng() % std::size(kCode)];
    } else if (r < 10) {
      text += ".\n\n";
    } else if (r < 16) {
      text += ", ";
    } else {
      text += kWords[rng() % std::size(kWords)];
      text += ' ';
    }
  }
  text.resize(size);
  // Do not end inside a multi-byte character.
  while (!text.empty() && (static_cast<uint8_t>(text.back()) & 0x80)) {
    text.pop_back();
  }
  return text;
}

std::string& ModelPath() {
  static std::string path =
      std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  return path;
}

const std::string& Text() {
  static const std::string text = MakeText(kTextBytes);
  return text;
}

const Tokenizer* LoadTokenizer(benchmark::State& state) {
  static std::unique_ptr<ggufd::gguf::GgufFile> file;
  static std::unique_ptr<Tokenizer> tokenizer;
  if (tokenizer == nullptr) {
    auto f = ggufd::gguf::GgufFile::Open(ModelPath());
    if (!f.ok()) {
      state.SkipWithError(std::string(f.status().message()).c_str());
      return nullptr;
    }
    auto t = Tokenizer::FromGguf(**f);
    if (!t.ok()) {
      state.SkipWithError(std::string(t.status().message()).c_str());
      return nullptr;
    }
    file = std::move(*f);
    tokenizer = std::make_unique<Tokenizer>(std::move(*t));
  }
  return tokenizer.get();
}

void BM_Encode(benchmark::State& state) {
  const Tokenizer* t = LoadTokenizer(state);
  if (t == nullptr) return;
  const std::string& text = Text();
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = t->Encode(text, {.add_special = false, .parse_special = false});
    if (!ids.ok()) {
      state.SkipWithError(std::string(ids.status().message()).c_str());
      return;
    }
    tokens = ids->size();
    benchmark::DoNotOptimize(ids->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_DecodeStreaming(benchmark::State& state) {
  const Tokenizer* t = LoadTokenizer(state);
  if (t == nullptr) return;
  const auto ids = t->Encode(Text(), {.add_special = false});
  if (!ids.ok()) return;
  for (auto _ : state) {
    ggufd::tokenizer::StreamingDecoder decoder;
    size_t bytes = 0;
    for (const auto id : *ids)
      bytes += decoder.Push(t->TokenToPiece(id)).size();
    bytes += decoder.Flush().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(ids->size()));
}
BENCHMARK(BM_DecodeStreaming)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first; the rest go to Google Benchmark.
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--model=", 8) == 0) {
      ModelPath() = argv[i] + 8;
    } else if (std::strncmp(argv[i], "--write-text=", 13) == 0) {
      std::ofstream out(argv[i] + 13, std::ios::binary);
      out.write(Text().data(), static_cast<std::streamsize>(Text().size()));
      if (!out) {
        std::fprintf(stderr, "cannot write %s\n", argv[i] + 13);
        return 1;
      }
      return 0;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
