#include "runtime/quantize/quantize_mix.h"

#include <algorithm>
#include <charconv>
#include <numeric>

namespace ggufd::quantize {
namespace {

using tensor::TensorType;

enum class Category {
  kTokenEmbd,
  kAttnQ,
  kAttnV,  // attn_v, attn_qkv and attn_kv_b: the quantization-sensitive ones
  kAttnK,
  kAttnOutput,
  kFfnUp,
  kFfnGate,
  kFfnDown,
  kOutput,
  kOther,
};

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

Category CategoryOf(std::string_view name) {
  if (name == "output.weight") return Category::kOutput;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") {
    return Category::kTokenEmbd;
  }
  if (Contains(name, "attn_qkv.weight") || Contains(name, "attn_kv_b.weight") ||
      Contains(name, "attn_v.weight")) {
    return Category::kAttnV;
  }
  if (Contains(name, "attn_k.weight")) return Category::kAttnK;
  if (Contains(name, "attn_q.weight")) return Category::kAttnQ;
  if (Contains(name, "attn_output.weight")) return Category::kAttnOutput;
  if (Contains(name, "ffn_up")) return Category::kFfnUp;
  if (Contains(name, "ffn_gate")) return Category::kFfnGate;
  if (Contains(name, "ffn_down")) return Category::kFfnDown;
  return Category::kOther;
}

// Tensors llama.cpp never quantizes although they are 2-D "weight"s: small,
// or read by index rather than multiplied.
constexpr std::string_view kNeverQuantized[] = {
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
    "position_embd.weight",
    "token_types.weight",
};

bool AllowsQuantization(const TensorDesc& t) {
  if (t.n_dims < 2) return false;
  if (!t.name.ends_with("weight")) return false;
  for (std::string_view part : kNeverQuantized) {
    if (Contains(t.name, part)) return false;
  }
  return true;
}

// The block number of "blk.N.*", or -1.
int LayerOf(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  int layer = -1;
  const char* begin = name.data() + 4;
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(begin, end, layer);
  if (ec != std::errc() || ptr == end || *ptr != '.') return -1;
  return layer;
}

bool IsQuantized(TensorType t) {
  return t != TensorType::kF32 && t != TensorType::kF16 &&
         t != TensorType::kBF16;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers and
// every third layer in between.
bool UseMoreBits(int i, int n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

uint64_t BlockSize(TensorType t) { return tensor::TypeInfo(t).block_size; }

// The running state of one planning pass (llama.cpp's quantize_state_impl).
struct MixState {
  FileType ftype;
  const ModelShape& shape;
  bool tied_embeddings = true;
  int n_attention_wv = 0;
  int i_attention_wv = 0;
  int i_ffn_down = 0;
};

bool Is(FileType f, std::initializer_list<FileType> any) {
  return std::find(any.begin(), any.end(), f) != any.end();
}

// llama_tensor_get_type_impl for the file types ggufd writes.
TensorType MixType(MixState& s, const TensorDesc& t, Category cat,
                   TensorType type) {
  using F = FileType;
  const F f = s.ftype;
  const bool falcon = s.shape.arch == "falcon";
  const int n_gqa = s.shape.n_gqa();
  const int n_expert = s.shape.n_expert;
  if (cat == Category::kOutput ||
      (s.tied_embeddings && cat == Category::kTokenEmbd)) {
    if (falcon || t.ne0 % BlockSize(type) != 0) return TensorType::kQ8_0;
    return type != TensorType::kQ8_0 ? TensorType::kQ6_K : type;
  }
  switch (cat) {
    case Category::kAttnV: {
      const int i = s.i_attention_wv;
      if (f == F::kQ2_K) {
        type = n_gqa >= 4 ? TensorType::kQ4_K : TensorType::kQ3_K;
      } else if (f == F::kQ3_K_M) {
        type = i < 2 ? TensorType::kQ5_K : TensorType::kQ4_K;
      } else if (f == F::kQ3_K_L) {
        type = TensorType::kQ5_K;
      } else if (Is(f, {F::kIQ4_NL, F::kIQ4_XS}) && n_gqa >= 4) {
        type = TensorType::kQ5_K;
      } else if (Is(f, {F::kQ4_K_M, F::kQ5_K_M}) &&
                 UseMoreBits(i, s.n_attention_wv)) {
        type = TensorType::kQ6_K;
      } else if (f == F::kQ4_K_S && i < 4) {
        type = TensorType::kQ5_K;
      }
      if (s.shape.is_70b &&
          (type == TensorType::kQ3_K || type == TensorType::kQ4_K)) {
        type = TensorType::kQ5_K;
      }
      if (n_expert == 8) type = TensorType::kQ8_0;
      ++s.i_attention_wv;
      return type;
    }
    case Category::kAttnK:
      return n_expert == 8 ? TensorType::kQ8_0 : type;
    case Category::kFfnDown: {
      int i = s.i_ffn_down;
      const int n = s.shape.n_layer;
      if (n_expert > 1 && LayerOf(t.name) >= 0) i = LayerOf(t.name);
      if (f == F::kQ2_K) {
        type = TensorType::kQ3_K;
      } else if (f == F::kQ3_K_M) {
        type = i < n / 16                     ? TensorType::kQ5_K
               : !falcon || UseMoreBits(i, n) ? TensorType::kQ4_K
                                              : TensorType::kQ3_K;
      } else if (f == F::kQ3_K_L) {
        type = falcon ? TensorType::kQ4_K : TensorType::kQ5_K;
      } else if (f == F::kQ4_K_M) {
        if (falcon) {
          type = i < n / 16          ? TensorType::kQ6_K
                 : UseMoreBits(i, n) ? TensorType::kQ5_K
                                     : TensorType::kQ4_K;
        } else if (UseMoreBits(i, n)) {
          type = TensorType::kQ6_K;
        }
      } else if (i < n / 8 && Is(f, {F::kIQ4_NL, F::kIQ4_XS})) {
        type = TensorType::kQ5_K;  // no importance matrix in ggufd
      } else if (f == F::kQ5_K_M && UseMoreBits(i, n)) {
        type = TensorType::kQ6_K;
      } else if (f == F::kQ4_K_S && !falcon && i < n / 8) {
        type = TensorType::kQ5_K;
      }
      ++s.i_ffn_down;
      return type;
    }
    case Category::kAttnOutput:
      if (falcon) return f == F::kQ3_K_L ? TensorType::kQ4_K : type;
      if (n_expert == 8) {
        return Is(f, {F::kQ2_K, F::kQ3_K_S, F::kQ3_K_M, F::kIQ4_NL, F::kQ4_K_S,
                      F::kQ4_K_M, F::kIQ4_XS})
                   ? TensorType::kQ5_K
                   : type;
      }
      if (f == F::kQ2_K) return TensorType::kQ3_K;
      if (f == F::kQ3_K_M) return TensorType::kQ4_K;
      if (f == F::kQ3_K_L) return TensorType::kQ5_K;
      return type;
    default:
      return type;
  }
}

// tensor_type_fallback: a type whose block does not divide the row length.
TensorType Fallback(TensorType type, uint64_t ne0, bool* fell_back) {
  if (ne0 % BlockSize(type) == 0) return type;
  *fell_back = true;
  switch (type) {
    case TensorType::kQ2_K:
    case TensorType::kQ3_K:
      type = TensorType::kQ4_0;
      break;
    case TensorType::kQ4_K:
      type = TensorType::kQ5_0;
      break;
    case TensorType::kQ5_K:
      type = TensorType::kQ5_1;
      break;
    case TensorType::kQ6_K:
      type = TensorType::kQ8_0;
      break;
    case TensorType::kIQ4_XS:
      type = TensorType::kIQ4_NL;
      break;
    default:
      return TensorType::kF16;
  }
  return ne0 % BlockSize(type) == 0 ? type : TensorType::kF16;
}

}  // namespace

std::vector<TensorPlan> PlanTensorTypes(FileType ftype, bool pure,
                                        const ModelShape& shape,
                                        absl::Span<const TensorDesc> tensors) {
  MixState state{.ftype = ftype, .shape = shape};
  std::vector<Category> categories(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    categories[i] = CategoryOf(tensors[i].name);
    if (categories[i] == Category::kAttnV) ++state.n_attention_wv;
    if (categories[i] == Category::kOutput) state.tied_embeddings = false;
  }
  // llama.cpp visits tensors by block number, then by name.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = LayerOf(tensors[a].name);
    const int lb = LayerOf(tensors[b].name);
    if (la != lb) return la < lb;
    return tensors[a].name < tensors[b].name;
  });
  const TensorType default_type = DefaultTensorType(ftype);
  std::vector<TensorPlan> plans(tensors.size());
  for (size_t i : order) {
    const TensorDesc& t = tensors[i];
    TensorPlan& plan = plans[i];
    plan.type = t.type;
    if (!AllowsQuantization(t)) continue;
    TensorType type = default_type;
    if (IsQuantized(default_type)) {
      if (!pure) type = MixType(state, t, categories[i], type);
      type = Fallback(type, t.ne0, &plan.fallback);
    }
    plan.type = type;
    plan.quantize = type != t.type;
  }
  return plans;
}

}  // namespace ggufd::quantize
