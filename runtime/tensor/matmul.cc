#include "runtime/tensor/matmul.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

// Output rows handed out per work item: a multiple of the tile height, and
// large enough that a thread streams long runs of weight rows.
constexpr int64_t kRowsPerItem = 4 * kMaxTileRows;
static_assert(kRowsPerItem % kPanelRows == 0);

// Activation rows below this many values are converted on the calling thread
// (waking the pool would cost more than the conversion).
constexpr int64_t kParallelConvertValues = 1 << 14;

// How far ahead of the row being multiplied the rows after it are
// prefetched when rows go one at a time: 8 KiB gave 1-3% more decode
// speed on a Zen 3 core (SmolLM2 and TinyLlama-shaped Q8_0), which the
// hardware prefetcher alone left on the table.
constexpr size_t kPrefetchAhead = 8192;

// Computes output rows [r_begin, r_end) for every token.
void MulRows(const WeightView& w, const uint8_t* a, size_t a_stride,
             int64_t n_tokens, float* y, VecDotFn dot, MatTileFn tile,
             int64_t r_begin, int64_t r_end) {
  if (n_tokens <= 0) return;
  const size_t y_stride = static_cast<size_t>(w.rows);
  const uint8_t* w_end = w.data + static_cast<size_t>(r_end) * w.row_bytes;
  // Rows one after another while a row's blocks meet at most one tile's
  // tokens: then the weights are read once, as one forward stream. Tiles of
  // 4 rows read four streams a row apart, which the hardware prefetcher
  // followed poorly on a Zen 3 core: decoding SmolLM2 Q8_0 (1 thread) ran
  // at 54 tok/s in tiles and 92 row by row (Q4_1 75 -> 93, Gemma 3 Q4_K_M
  // 33 -> 48), and 2-token prompts at 97 row by row with the dot, 145 with
  // 1 x 2 tiles.
  if (tile == nullptr || n_tokens <= kMaxTileCols) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
      for (const uint8_t* p = wr + kPrefetchAhead;
           p < std::min(w_end, wr + kPrefetchAhead + w.row_bytes); p += 64) {
        __builtin_prefetch(p, 0, 3);
      }
      if (tile != nullptr && n_tokens > 1) {
        tile(w.cols, wr, w.row_bytes, 1, a, a_stride,
             static_cast<int>(n_tokens), y + r, y_stride);
        continue;
      }
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[static_cast<size_t>(t) * y_stride + r] =
            dot(w.cols, wr, a + static_cast<size_t>(t) * a_stride);
      }
    }
    return;
  }
  // Each weight tile is loaded once per kMaxTileCols tokens and stays in L1
  // while it meets all tokens; the activations stay in L2.
  for (int64_t r = r_begin; r < r_end; r += kMaxTileRows) {
    const int n_rows =
        static_cast<int>(std::min<int64_t>(kMaxTileRows, r_end - r));
    const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
    for (int64_t t = 0; t < n_tokens; t += kMaxTileCols) {
      const int n_cols =
          static_cast<int>(std::min<int64_t>(kMaxTileCols, n_tokens - t));
      tile(w.cols, wr, w.row_bytes, n_rows,
           a + static_cast<size_t>(t) * a_stride, a_stride, n_cols,
           y + static_cast<size_t>(t) * y_stride + r, y_stride);
    }
  }
}

// Describes the q8_0 / q8_1 blocks of activation rows [t_begin, t_end) for
// the panel kernels (PanelActBlock), nb blocks per row; with a nonzero
// `offset` also their offset sums (`offset_sums`, [n_tokens][nb][8]).
void DescribeActivationBlocks(TensorType act_type, const uint8_t* a,
                              size_t a_stride, int64_t nb, int64_t t_begin,
                              int64_t t_end, PanelActBlock* out, int32_t offset,
                              int32_t* offset_sums) {
  for (int64_t t = t_begin; t < t_end; ++t) {
    const uint8_t* row = a + static_cast<size_t>(t) * a_stride;
    PanelActBlock* info = out + t * nb;
    for (int64_t b = 0; b < nb; ++b) {
      const int8_t* qs;
      if (act_type == TensorType::kQ8_1) {
        const auto& blk = reinterpret_cast<const BlockQ8_1*>(row)[b];
        info[b].d = Fp16ToFp32(blk.d);
        info[b].s = Fp16ToFp32(blk.s);
        qs = blk.qs;
      } else {
        const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
        info[b].d = Fp16ToFp32(blk.d);
        info[b].s = 0;
        qs = blk.qs;
      }
      int32_t* groups = offset != 0 ? offset_sums + (t * nb + b) * 8 : nullptr;
      int32_t sum = 0;
      for (int g = 0; g < 8; ++g) {
        const int32_t group =
            qs[4 * g] + qs[4 * g + 1] + qs[4 * g + 2] + qs[4 * g + 3];
        if (groups != nullptr) groups[g] = -offset * group;
        sum += group;
      }
      info[b].sum = sum;
      info[b].offset = offset;
    }
  }
}

// Products of up to this many tokens read a weight's decode panels where it
// has them (decode_panels.h); more tokens repack file-layout panels per
// call, which then pays for itself.
constexpr int64_t kDecodeMaxTokens = 2;

// Tokens from which the panel kernels read PanelActBlock tables (below it
// they work without repacking, straight from the blocks).
constexpr int64_t kDescribeMinTokens = 3;

}  // namespace

size_t ActivationBuffer::BytesFor(int64_t n_tokens, int64_t n_cols) {
  // f32 (4 bytes per value) is the widest pairing format.
  return static_cast<size_t>(n_tokens) * static_cast<size_t>(n_cols) *
         sizeof(float);
}

void ActivationBuffer::Reserve(int64_t max_tokens, int64_t max_cols) {
  const size_t bytes = BytesFor(max_tokens, max_cols);
  if (bytes > bytes_.size()) bytes_.resize(bytes);
}

bool CanMatMul(TensorType type) { return HasKernels(type); }

namespace {

// The repacked order of w at `isa`, or null (see RepackedOrder).
const RepackedOrder* RepackedOrderOf(const WeightView& w, Isa isa) {
  return w.repackable ? ResolveRepackedOrder(w.type, w.rows, isa) : nullptr;
}

// Tokens [0, n_grouped) of a product in a repacked order take its gemm.
int64_t GroupedTokens(const RepackedOrder* repacked, int64_t n_tokens) {
  return repacked != nullptr ? n_tokens - n_tokens % kRepackGroupTokens : 0;
}

}  // namespace

MatDecodeFn DecodeKernel(const WeightView& w, Isa isa) {
  const RepackedOrder* repacked = RepackedOrderOf(w, isa);
  return repacked != nullptr ? repacked->decode : ResolveMatDecode(w.type, isa);
}

namespace {

ProductPlan PlanFor(const WeightView& w, int64_t n_tokens, Isa isa) {
  ProductPlan plan;
  plan.repacked = RepackedOrderOf(w, isa);
  const RepackedOrder* repacked = plan.repacked;
  if (w.panels != nullptr) {
    plan.panels =
        repacked != nullptr ? repacked->panels : ResolveMatPanels(w.type, isa);
    const MatPanelFn file_panel =
        repacked != nullptr ? repacked->panel : ResolveMatPanel(w.type, isa);
    if (repacked != nullptr && repacked->decode_gemm != nullptr) {
      // The decode panels in both of the order's forms serve everything.
      plan.decode = repacked->decode;
      plan.decode_gemm = repacked->decode_gemm;
    } else if (n_tokens <= kDecodeMaxTokens ||
               (plan.panels == nullptr && file_panel == nullptr)) {
      // A few tokens read the panels as they are; so do all tokens of the
      // types with no row-panel kernel (q5_0, q6_K).
      plan.decode = DecodeKernel(w, isa);
    }
    if (plan.decode != nullptr) plan.panels = nullptr;
    if (plan.decode != nullptr || plan.panels != nullptr) return plan;
  }
  // The panel kernels address their rows with 32-bit offsets (gathers);
  // absurdly long rows take the per-output path, which gives the same bits.
  if (w.row_bytes <= static_cast<size_t>(INT32_MAX / kPanelRows)) {
    plan.panel =
        repacked != nullptr ? repacked->panel : ResolveMatPanel(w.type, isa);
  }
  return plan;
}

WeightKernels KernelsFor(const WeightView& w, Isa isa) {
  const TensorType act_type = Traits(w.type).vec_dot_type;
  WeightKernels k{.isa = isa,
                  .panels = w.panels,
                  .from_float = ResolveFromFloat(act_type, isa),
                  .dot = ResolveVecDot(w.type, isa),
                  .tile = ResolveMatTile(w.type, isa),
                  .few = PlanFor(w, 1, isa),
                  .many = PlanFor(w, kDecodeMaxTokens + 1, isa)};
  const FromFloatFn grouped = ResolveFromFloatGrouped(act_type, isa);
  k.grouped_from_float = grouped != nullptr ? grouped : k.from_float;
  return k;
}

}  // namespace

void ResolveKernels(WeightView& w, Isa isa) { w.kernels = KernelsFor(w, isa); }

OutputKernel MatMulOutputKernel(const WeightView& w, int64_t n_tokens,
                                int64_t t, Isa isa) {
  const TypeTraits& traits = Traits(w.type);
  OutputKernel k{.from_float = ResolveFromFloat(traits.vec_dot_type, isa),
                 .dot = ResolveVecDot(w.type, isa)};
  const RepackedOrder* repacked = RepackedOrderOf(w, isa);
  if (repacked == nullptr) return k;
  if (t < GroupedTokens(repacked, n_tokens)) {
    if (const FromFloatFn grouped =
            ResolveFromFloatGrouped(traits.vec_dot_type, isa)) {
      k.from_float = grouped;
    }
    k.dot = repacked->dot_gemm;
  } else {
    k.dot = repacked->dot_gemv;
  }
  return k;
}

void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y,
            ActivationBuffer& scratch, ThreadPool& pool) {
  MatMul(w, x, n_tokens, y, scratch, pool, BestIsa());
}

void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y,
            ActivationBuffer& scratch, ThreadPool& pool, Isa isa) {
  assert(CanMatMul(w.type));
  assert(IsaSupported(isa));
  if (n_tokens <= 0 || w.rows <= 0) return;
  const TypeTraits& traits = Traits(w.type);
  const TypeTraits& act = Traits(traits.vec_dot_type);
  assert(w.cols % traits.layout.block_size == 0 &&
         w.cols % act.layout.block_size == 0);

  // Resolved at load for the model's weights; tests and benchmarks pass
  // views of their own, at every level.
  std::optional<WeightKernels> local;
  if (!w.kernels.has_value() || w.kernels->isa != isa ||
      w.kernels->panels != w.panels) {
    local = KernelsFor(w, isa);
  }
  const WeightKernels& k = local.has_value() ? *local : *w.kernels;
  const VecDotFn dot = k.dot;
  const MatTileFn tile = k.tile;
  const ProductPlan& plan = n_tokens <= kDecodeMaxTokens ? k.few : k.many;
  const RepackedOrder* repacked = plan.repacked;
  const int64_t n_grouped = GroupedTokens(repacked, n_tokens);
  const MatDecodeFn decode = plan.decode;
  const MatDecodeFn decode_gemm = plan.decode_gemm;
  const MatPanelsFn panels = plan.panels;
  const MatPanelFn panel = plan.panel;
  const size_t panel_stride = DecodePanelStride(w.type, w.cols);

  // Convert the activations once, into the weight type's pairing format.
  const uint8_t* a = reinterpret_cast<const uint8_t*>(x);
  size_t a_stride = static_cast<size_t>(w.cols) * sizeof(float);
  PanelActBlock* a_blocks = nullptr;
  if (traits.vec_dot_type != TensorType::kF32) {
    a_stride = static_cast<size_t>(w.cols / act.layout.block_size) *
               act.layout.type_size;
    // Only reached when the caller reserved too little; keeps us correct.
    scratch.Reserve(n_tokens, w.cols);
    uint8_t* buf = scratch.data();
    // The panel kernels' block table goes after the rows, when it fits
    // (it always does in a buffer sized by BytesFor), with the offset sums
    // after it for the kernels that start from them (repacked orders use
    // the block sums only).
    const int64_t nb = w.cols / kQK;
    const size_t table_at =
        (static_cast<size_t>(n_tokens) * a_stride + 63) / 64 * 64;
    const size_t table_bytes =
        static_cast<size_t>(n_tokens * nb) * sizeof(PanelActBlock);
    const int32_t offset = repacked == nullptr ? traits.panel_offset : 0;
    const size_t offset_bytes =
        offset != 0 ? static_cast<size_t>(n_tokens * nb) * 8 * sizeof(int32_t)
                    : 0;
    if ((panel != nullptr || panels != nullptr) &&
        n_tokens >= kDescribeMinTokens && act.layout.block_size == kQK &&
        table_at + table_bytes + offset_bytes <= scratch.capacity()) {
      a_blocks = reinterpret_cast<PanelActBlock*>(buf + table_at);
    }
    int32_t* offset_sums =
        a_blocks != nullptr && offset != 0
            ? reinterpret_cast<int32_t*>(buf + table_at + table_bytes)
            : nullptr;
    const FromFloatFn from_float = k.from_float;
    const FromFloatFn grouped_from_float = k.grouped_from_float;
    auto convert = [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) {
        (t < n_grouped ? grouped_from_float : from_float)(
            x + static_cast<size_t>(t) * w.cols,
            buf + static_cast<size_t>(t) * a_stride, w.cols);
      }
      if (a_blocks != nullptr) {
        DescribeActivationBlocks(
            traits.vec_dot_type, buf, a_stride, nb, begin, end, a_blocks,
            offset_sums != nullptr ? offset : 0, offset_sums);
      }
    };
    if (n_tokens * w.cols >= kParallelConvertValues) {
      pool.ParallelFor(n_tokens, std::ref(convert));
    } else {
      convert(0, n_tokens, 0);
    }
    a = buf;
  }

  const int64_t n_items = (w.rows + kRowsPerItem - 1) / kRowsPerItem;
  auto multiply = [&](int64_t begin, int64_t end, int) {
    const int64_t r_end = std::min(w.rows, end * kRowsPerItem);
    if (decode != nullptr) {
      // Tokens before n_grouped take the gemm's order where it has panels.
      const int64_t split = decode_gemm != nullptr ? n_grouped : 0;
      for (int64_t r = begin * kRowsPerItem; r < r_end; r += kPanelRows) {
        const uint8_t* p =
            w.panels + static_cast<size_t>(r / kPanelRows) * panel_stride;
        const int rows =
            static_cast<int>(std::min<int64_t>(kPanelRows, r_end - r));
        if (split > 0) {
          decode_gemm(w.cols, p, rows, a, a_stride, static_cast<int>(split),
                      y + r, static_cast<size_t>(w.rows));
        }
        if (split < n_tokens) {
          decode(w.cols, p, rows, a + static_cast<size_t>(split) * a_stride,
                 a_stride, static_cast<int>(n_tokens - split),
                 y + static_cast<size_t>(split) * w.rows + r,
                 static_cast<size_t>(w.rows));
        }
      }
      return;
    }
    if (panels != nullptr) {
      for (int64_t r = begin * kRowsPerItem; r < r_end; r += kPanelRows) {
        panels(w.cols,
               w.panels + static_cast<size_t>(r / kPanelRows) * panel_stride,
               static_cast<int>(std::min<int64_t>(kPanelRows, r_end - r)), a,
               a_stride, a_blocks, n_tokens, y + r,
               static_cast<size_t>(w.rows));
      }
      return;
    }
    if (panel != nullptr) {
      for (int64_t r = begin * kRowsPerItem; r < r_end; r += kPanelRows) {
        panel(w.cols, w.data + static_cast<size_t>(r) * w.row_bytes,
              w.row_bytes,
              static_cast<int>(std::min<int64_t>(kPanelRows, r_end - r)), a,
              a_stride, a_blocks, n_tokens, y + r, static_cast<size_t>(w.rows));
      }
      return;
    }
    if (repacked != nullptr) {
      MulRows(w, a, a_stride, n_grouped, y, repacked->dot_gemm,
              repacked->tile_gemm, begin * kRowsPerItem, r_end);
      MulRows(w, a + static_cast<size_t>(n_grouped) * a_stride, a_stride,
              n_tokens - n_grouped,
              y + static_cast<size_t>(n_grouped) * static_cast<size_t>(w.rows),
              repacked->dot_gemv, repacked->tile_gemv, begin * kRowsPerItem,
              r_end);
      return;
    }
    MulRows(w, a, a_stride, n_tokens, y, dot, tile, begin * kRowsPerItem,
            r_end);
  };
  // By reference: a std::function holding the closure would allocate on
  // every call, and the forward pass must not allocate.
  pool.ParallelFor(n_items, std::ref(multiply));
}

bool ReadsOnlyPanels(const WeightView& w, Isa isa) {
  if (w.panels == nullptr) return false;
  for (int64_t n_tokens : {int64_t{1}, kRepackGroupTokens + 1}) {
    const ProductPlan plan = PlanFor(w, n_tokens, isa);
    if (plan.decode == nullptr && plan.panels == nullptr) return false;
  }
  return true;
}

void DequantizeRow(const WeightView& w, int64_t row, float* out) {
  assert(CanMatMul(w.type) && row >= 0 && row < w.rows);
  Traits(w.type).dequantize_row(w.data + static_cast<size_t>(row) * w.row_bytes,
                                out, w.cols);
}

}  // namespace ggufd::tensor
