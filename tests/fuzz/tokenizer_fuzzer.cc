// libFuzzer target for the tokenizers: random bytes are encoded with real
// SentencePiece, byte-level BPE and WordPiece vocabularies (with and without
// special-token parsing), decoded back, and streamed through the
// StreamingDecoder. Checked invariants:
//   - Encode never fails on input within the size limit; ids are in range;
//   - Decode of those ids succeeds, and for the lossless vocabularies it
//     gives back the input after WHATWG UTF-8 repair;
//   - streamed chunks are valid UTF-8, and their concatenation plus Flush()
//     equals the repaired concatenation of the token pieces.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/streaming_decoder.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace {

using ggufd::tokenizer::Tokenizer;

struct Loaded {
  std::unique_ptr<ggufd::gguf::GgufFile> file;
  std::unique_ptr<Tokenizer> tokenizer;
  bool lossless;  // Decode(Encode(x)) == repaired x
};

std::vector<Loaded>& Tokenizers() {
  static std::vector<Loaded>* loaded = [] {
    auto* out = new std::vector<Loaded>();
    const std::string dir =
        std::string(GGUFD_TESTDATA_DIR) + "/llama.cpp-vocab/ggml-vocab-";
    // Lossless: Decode(Encode(x)) gives x back (no clean-up of spaces, no
    // dummy prefix after user-defined tokens, no normalization).
    const std::pair<std::string, bool> vocabs[] = {
        {dir + "llama-spm.gguf", true},
        {dir + "phi-3.gguf", false},
        {dir + "deepseek-llm.gguf", true},
        {dir + "starcoder.gguf", false},
        {dir + "bert-bge.gguf", false},
        // SmolLM2 has no tokens for some control bytes (llama.cpp drops
        // them too), so it is not lossless.
        {std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf",
         false},
    };
    for (const auto& [path, lossless] : vocabs) {
      auto file = ggufd::gguf::GgufFile::Open(path);
      if (!file.ok()) continue;  // the default model may not be fetched
      auto tokenizer = Tokenizer::FromGguf(**file);
      if (!tokenizer.ok()) {
        std::fprintf(stderr, "cannot load %s\n", path.c_str());
        std::abort();
      }
      out->push_back({std::move(*file),
                      std::make_unique<Tokenizer>(std::move(*tokenizer)),
                      lossless});
    }
    if (out->empty()) {
      std::fprintf(stderr, "no vocabularies under %s\n", dir.c_str());
      std::abort();
    }
    return out;
  }();
  return *loaded;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the vocabulary and the options.
  const uint8_t control = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  std::vector<Loaded>& all = Tokenizers();
  const Loaded& loaded = all[control % all.size()];
  const Tokenizer& t = *loaded.tokenizer;
  const bool parse_special = (control & 0x40) != 0;
  const bool add_special = (control & 0x80) != 0;

  auto ids = t.Encode(
      text, {.add_special = add_special, .parse_special = parse_special});
  Check(ids.ok(), "Encode failed");
  for (const auto id : *ids) Check(id >= 0 && id < t.vocab_size(), "id range");

  auto decoded = t.Decode(*ids);
  Check(decoded.ok(), "Decode failed");
  std::string repaired = ggufd::tokenizer::SanitizeUtf8(text);
  if (loaded.lossless && !add_special && !parse_special) {
    if (t.vocab().type() == ggufd::tokenizer::VocabType::kSpm) {
      // SentencePiece cannot tell U+2581 from the space it stands for.
      size_t pos;
      while ((pos = repaired.find("\xE2\x96\x81")) != std::string::npos) {
        repaired.replace(pos, 3, " ");
      }
    }
    Check(*decoded == repaired, "round trip");
  }

  ggufd::tokenizer::StreamingDecoder decoder;
  std::string streamed;
  std::string pieces;
  for (const auto id : *ids) {
    const std::string_view piece = t.TokenToPiece(id, /*special=*/true);
    pieces.append(piece);
    const std::string chunk = decoder.Push(piece);
    Check(ggufd::tokenizer::IsValidUtf8(chunk), "chunk is valid UTF-8");
    streamed += chunk;
    Check(decoder.pending_bytes() <= 3, "at most 3 bytes held back");
  }
  const std::string tail = decoder.Flush();
  Check(ggufd::tokenizer::IsValidUtf8(tail), "flush is valid UTF-8");
  streamed += tail;
  Check(streamed == ggufd::tokenizer::SanitizeUtf8(pieces),
        "streamed text equals the repaired pieces");
  return 0;
}
