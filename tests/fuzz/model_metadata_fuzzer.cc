// libFuzzer target for what the runtime reads from a GGUF file's metadata:
// any byte string that parses is given to the vocabulary / tokenizer loader
// and to the hyperparameter loader. Neither may crash, hang or allocate by
// an unchecked field, and whatever they accept must lie in its domain:
//   - special ids are tokens of the vocabulary (or none);
//   - scores are finite, byte tokens are spelled <0xHH>;
//   - the tokenizer encodes and decodes a short text;
//   - hyperparameters are positive and finite where the forward pass needs.
// Seeds: small real models (stories260K's 14 KB header holds its whole
// vocabulary) and the kernel files.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "runtime/gguf/gguf_file.h"
#include "runtime/model/model_config.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/vocab.h"

namespace {

using ggufd::tokenizer::TokenId;
using ggufd::tokenizer::Vocab;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckVocab(const Vocab& v) {
  const auto& sp = v.special();
  for (TokenId id : {sp.bos, sp.eos, sp.eot, sp.eom, sp.unk, sp.sep, sp.pad,
                     sp.mask, sp.linefeed, sp.fim_pre, sp.fim_suf, sp.fim_mid,
                     sp.fim_pad, sp.fim_rep, sp.fim_sep}) {
    Check(id == ggufd::tokenizer::kNoToken || v.Contains(id));
  }
  for (TokenId id = 0; id < v.size(); ++id) {
    Check(std::isfinite(v.score(id)));
    if (v.HasAttr(id, ggufd::tokenizer::kAttrByte)) {
      Check(ggufd::tokenizer::ByteTokenValue(v.text(id)) >= 0);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = ggufd::gguf::GgufFile::Parse({data, size});
  if (!file.ok()) return 0;
  const ggufd::gguf::GgufFile& f = **file;

  auto tokenizer = ggufd::tokenizer::Tokenizer::FromGguf(f);
  if (tokenizer.ok()) {
    CheckVocab(tokenizer->vocab());
    auto ids = tokenizer->Encode("Hello <s> world\n\xE2\x82", {});
    if (ids.ok()) {
      for (TokenId id : *ids) Check(id >= 0 && id < tokenizer->vocab_size());
      Check(tokenizer->Decode(*ids).ok());
    }
  }

  // A small KV budget keeps the context (and nothing else) from sizing
  // anything large.
  auto config = ggufd::model::LoadModelConfig(
      f, {.n_ctx = 0, .max_kv_bytes = uint64_t{1} << 24});
  if (config.ok()) {
    const ggufd::model::ModelConfig& c = *config;
    Check(std::isfinite(c.rms_eps) && c.rms_eps > 0);
    Check(std::isfinite(c.rope_freq_base) && c.rope_freq_base > 0);
    Check(std::isfinite(c.attention_scale) && c.attention_scale > 0);
    Check(std::isfinite(c.logit_softcap) && c.logit_softcap >= 0);
    Check(c.n_layer > 0 && c.n_head > 0 && c.n_kv_head > 0 && c.n_vocab > 0);
    Check(c.n_ctx >= 1 && c.n_ctx <= c.n_ctx_train);
  }
  return 0;
}
