#include "runtime/model/model_weights.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/model/arch_traits.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/tensor_type.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::model {
namespace {

std::string ShapeString(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.n_dims; ++i) {
    s += StrCat(i ? ", " : "", t.dims[i]);
  }
  return s + "]";
}

// Finds `name` and checks that its GGUF shape is exactly [ne0] (ne1 == 0)
// or [ne0, ne1].
absl::StatusOr<const gguf::TensorInfo*> FindShaped(const gguf::GgufFile& file,
                                                   const std::string& name,
                                                   int64_t ne0, int64_t ne1) {
  const gguf::TensorInfo* t = file.FindTensor(name);
  if (t == nullptr) {
    return absl::InvalidArgumentError(StrCat("missing tensor ", name));
  }
  const uint32_t n_dims = ne1 == 0 ? 1 : 2;
  // Trailing dimensions of 1 are equivalent; some writers keep them.
  bool ok = t->dims[0] == static_cast<uint64_t>(ne0) &&
            (n_dims == 1 ? t->dims[1] == 1
                         : t->dims[1] == static_cast<uint64_t>(ne1)) &&
            t->dims[2] == 1 && t->dims[3] == 1;
  if (!ok) {
    return absl::InvalidArgumentError(
        StrCat("tensor ", name, " has shape ", ShapeString(*t), ", expected [",
               ne0, n_dims == 2 ? StrCat(", ", ne1) : "", "]"));
  }
  return t;
}

// A view of matrix `name` with `rows` rows of `cols` values (GGUF [cols,
// rows]) in a type MatMul can multiply.
absl::StatusOr<tensor::WeightView> LoadMatrix(const gguf::GgufFile& file,
                                              const std::string& name,
                                              int64_t rows, int64_t cols) {
  ASSIGN_OR_RETURN(const gguf::TensorInfo* t,
                   FindShaped(file, name, cols, rows));
  if (!tensor::HasKernels(t->type)) {
    return absl::InvalidArgumentError(
        StrCat("tensor ", name, " has type ",
               tensor::TensorTypeName(static_cast<uint32_t>(t->type)),
               ", which ggufd cannot multiply yet"));
  }
  if (cols % tensor::TypeInfo(t->type).block_size != 0) {
    return absl::InvalidArgumentError(
        StrCat("tensor ", name, " rows of ", cols,
               " values are not whole blocks of its type"));
  }
  tensor::WeightView view;
  view.type = t->type;
  view.data = t->data;
  view.rows = rows;
  view.cols = cols;
  view.row_bytes = tensor::RowBytes(t->type, static_cast<uint64_t>(cols));
  return view;
}

// Copies vector `name` of `n` values (F32, F16 or BF16) out as floats.
absl::StatusOr<std::vector<float>> LoadVector(const gguf::GgufFile& file,
                                              const std::string& name,
                                              int64_t n) {
  ASSIGN_OR_RETURN(const gguf::TensorInfo* t, FindShaped(file, name, n, 0));
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* p = t->data;
  switch (t->type) {
    case tensor::TensorType::kF32:
      for (int64_t i = 0; i < n; ++i) {
        std::memcpy(&out[i], p + 4 * i, 4);
      }
      break;
    case tensor::TensorType::kF16:
    case tensor::TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t->type == tensor::TensorType::kF16 ? tensor::Fp16ToFp32(h)
                                                     : tensor::Bf16ToFp32(h);
      }
      break;
    default:
      return absl::InvalidArgumentError(
          StrCat("tensor ", name, " has type ",
                 tensor::TensorTypeName(static_cast<uint32_t>(t->type)),
                 "; vectors must be f32, f16 or bf16"));
  }
  return out;
}

absl::StatusOr<LayerWeights> LoadLayer(const gguf::GgufFile& file,
                                       const ModelConfig& c, int il) {
  const ArchTraits& traits = *c.traits;
  auto name = [il](TensorRole role) { return TensorName(role, il); };
  LayerWeights l;
  using enum TensorRole;
  ASSIGN_OR_RETURN(l.attn_norm, LoadVector(file, name(kAttnNorm), c.n_embd));
  ASSIGN_OR_RETURN(l.wq, LoadMatrix(file, name(kAttnQ), c.q_dim(), c.n_embd));
  ASSIGN_OR_RETURN(l.wk, LoadMatrix(file, name(kAttnK), c.kv_dim(), c.n_embd));
  ASSIGN_OR_RETURN(l.wv, LoadMatrix(file, name(kAttnV), c.kv_dim(), c.n_embd));
  ASSIGN_OR_RETURN(l.wo,
                   LoadMatrix(file, name(kAttnOutput), c.n_embd, c.q_dim()));
  if (traits.qkv_bias) {
    ASSIGN_OR_RETURN(l.bq, LoadVector(file, name(kAttnQBias), c.q_dim()));
    ASSIGN_OR_RETURN(l.bk, LoadVector(file, name(kAttnKBias), c.kv_dim()));
    ASSIGN_OR_RETURN(l.bv, LoadVector(file, name(kAttnVBias), c.kv_dim()));
  }
  if (traits.qk_norm) {
    ASSIGN_OR_RETURN(l.q_norm, LoadVector(file, name(kAttnQNorm), c.head_dim));
    ASSIGN_OR_RETURN(l.k_norm, LoadVector(file, name(kAttnKNorm), c.head_dim));
  }
  if (traits.post_norms) {
    ASSIGN_OR_RETURN(l.post_attn_norm,
                     LoadVector(file, name(kPostAttnNorm), c.n_embd));
    ASSIGN_OR_RETURN(l.post_ffn_norm,
                     LoadVector(file, name(kPostFfnNorm), c.n_embd));
  }
  ASSIGN_OR_RETURN(l.ffn_norm, LoadVector(file, name(kFfnNorm), c.n_embd));
  ASSIGN_OR_RETURN(l.w_gate,
                   LoadMatrix(file, name(kFfnGate), c.n_ff, c.n_embd));
  ASSIGN_OR_RETURN(l.w_up, LoadMatrix(file, name(kFfnUp), c.n_ff, c.n_embd));
  ASSIGN_OR_RETURN(l.w_down,
                   LoadMatrix(file, name(kFfnDown), c.n_embd, c.n_ff));
  return l;
}

}  // namespace

absl::StatusOr<ModelWeights> LoadModelWeights(const gguf::GgufFile& file,
                                              const ModelConfig& c) {
  using enum TensorRole;
  ModelWeights w;
  ASSIGN_OR_RETURN(w.token_embd, LoadMatrix(file, TensorName(kTokenEmbd),
                                            c.n_vocab, c.n_embd));
  w.layers.reserve(static_cast<size_t>(c.n_layer));
  for (int il = 0; il < c.n_layer; ++il) {
    ASSIGN_OR_RETURN(LayerWeights layer, LoadLayer(file, c, il));
    w.layers.push_back(std::move(layer));
  }
  ASSIGN_OR_RETURN(w.output_norm,
                   LoadVector(file, TensorName(kOutputNorm), c.n_embd));
  const std::string output_name = TensorName(kOutput);
  if (file.FindTensor(output_name) == nullptr && c.traits->tied_embeddings) {
    w.output = w.token_embd;
    w.output.repackable = false;  // as llama.cpp keeps it (matmul.h)
    w.tied_output = true;
  } else {
    ASSIGN_OR_RETURN(w.output,
                     LoadMatrix(file, output_name, c.n_vocab, c.n_embd));
  }
  // Every matrix a product reads, packed for decoding where its type has
  // decode panels (the token embedding is only looked up row by row).
  // A matrix whose every product reads the panels lets its file pages go,
  // so the model is not held in memory twice (unless it is also the
  // embedding that lookups read).
  // Then its kernels are looked up once, for the products to come.
  auto pack = [&w, &file](tensor::WeightView& view) {
    tensor::AlignedBytes panels = tensor::AttachDecodePanels(view);
    tensor::ResolveKernels(view, tensor::BestIsa());
    if (panels == nullptr) return;
    w.decode_panels->push_back(std::move(panels));
    if (view.data != w.token_embd.data &&
        tensor::ReadsOnlyPanels(view, tensor::BestIsa())) {
      file.ReleasePages(view.data,
                        static_cast<size_t>(view.rows) * view.row_bytes);
    }
  };
  for (LayerWeights& l : w.layers) {
    for (tensor::WeightView* view :
         {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      pack(*view);
    }
  }
  pack(w.output);
  if (file.FindTensor(TensorName(kRopeFreqs)) != nullptr) {
    ASSIGN_OR_RETURN(w.rope_freqs,
                     LoadVector(file, TensorName(kRopeFreqs), c.n_rot / 2));
    for (float f : w.rope_freqs) {
      if (!std::isfinite(f) || f <= 0) {
        return absl::InvalidArgumentError(
            StrCat("tensor ", TensorName(kRopeFreqs),
                   " holds a value that is not a positive number"));
      }
    }
  }
  return w;
}

}  // namespace ggufd::model
