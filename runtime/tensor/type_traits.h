// One table, indexed by GGUF type id, of everything the kernels need to know
// about a tensor type: its block layout (copied from tensor_type.h's table,
// the only place it is written), how to dequantize a row, which
// activation format it pairs with in a dot product, how to convert float
// activations into that format, and the dot kernel for each instruction set
// (ggml's type_traits, with the ISA dispatch folded in).
#ifndef GGUFD_RUNTIME_TENSOR_TYPE_TRAITS_H_
#define GGUFD_RUNTIME_TENSOR_TYPE_TRAITS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/tensor/isa.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd::tensor {

// Writes the n values (a multiple of the block size) of a row as floats.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);

// Converts n floats into this type's row format (activation quantization).
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);

// Dot product of an n-value weight row with an n-value activation row in the
// weight type's paired format.
using VecDotFn = float (*)(int64_t n, const void* w, const void* a);

// A tile of dot products: for r < n_rows and c < n_cols,
//   y[c * y_stride + r] = dot(w + r * w_stride, a + c * a_stride),
// each computed exactly as the same ISA's VecDotFn computes it, so tiling
// never changes a result. n_rows and n_cols are at most kMaxTileRows and
// kMaxTileCols.
using MatTileFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride,
                           int n_rows, const uint8_t* a, size_t a_stride,
                           int n_cols, float* y, size_t y_stride);
inline constexpr int kMaxTileRows = 4;
inline constexpr int kMaxTileCols = 4;

// A panel of products: y[t * y_stride + r] = dot(w + r * w_stride,
// a + t * a_stride) for r < n_rows <= kPanelRows and every t < n_tokens.
// The weight rows are repacked once and shared by all tokens. Each output is
// computed exactly as the same ISA's VecDotFn computes it.
//
// For q8_0 / q8_1 activations the caller may pass `a_blocks`, the
// PanelActBlock of every activation block ([n_tokens][n / 32]), so that
// work is not redone for every panel; null makes the kernel derive them.
struct PanelActBlock {
  float d;      // the block's scale
  float s;      // q8_1: d * sum(qs) as stored; q8_0: 0
  int32_t sum;  // sum(qs)
  // 0, or the bias (TypeTraits::panel_offset) of the weight the table was
  // made for: then the [n_tokens][n / 32] table is followed by each block's
  // int32 offset sums, [n_tokens][n / 32][8]: -offset * (sum of each 4
  // adjacent qs), where a kernel with that bias starts each group's integer
  // dot instead of deriving it for every panel the activations meet.
  int32_t offset;
};
using MatPanelFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride,
                            int n_rows, const uint8_t* a, size_t a_stride,
                            const PanelActBlock* a_blocks, int64_t n_tokens,
                            float* y, size_t y_stride);
inline constexpr int kPanelRows = 16;
// MatPanelFn's products read from a weight's decode panels (decode_panels.h):
// `panel` is the panel's first block, rows as there.
using MatPanelsFn = void (*)(int64_t n, const uint8_t* panel, int n_rows,
                             const uint8_t* a, size_t a_stride,
                             const PanelActBlock* a_blocks, int64_t n_tokens,
                             float* y, size_t y_stride);

// A decode panel's products (decode_panels.h): y[t * y_stride + r] = row r
// of the panel . token t for r < n_rows <= kPanelRows, t < n_tokens, each
// computed exactly as the same ISA's VecDotFn computes it from the file
// layout. For few tokens: every token has the whole block in registers.
using MatDecodeFn = void (*)(int64_t n, const uint8_t* panel, int n_rows,
                             const uint8_t* a, size_t a_stride, int n_tokens,
                             float* y, size_t y_stride);

// How llama.cpp multiplies a weight its CPU backend has repacked (ggml's
// repack.cpp): q4_0 and q4_K on x86 with AVX2, when the weight's row count is a
// multiple of kRepackRowMultiple. Of the tokens of one product, the first
// n - n % 4 go through its gemm, four at a time, with activations from its
// 4-row quantizer (the activation type's from_float_grouped); the others go
// through its gemv. Each has a float order of its own, unlike vec_dot's.
// MatMul follows it where a type sets these, so the logits agree with the
// reference bit for bit rather than to rounding noise.
struct RepackedOrder {
  VecDotFn dot_gemv = nullptr;
  VecDotFn dot_gemm = nullptr;
  MatTileFn tile_gemv = nullptr;  // null: dot_gemv per output
  MatTileFn tile_gemm = nullptr;  // null: dot_gemm per output
  // Panel kernels of the order, preferred over the above: `panel` where
  // ggml's gemv and gemm sum alike (q4_0); `decode` for the gemv's tokens
  // (few tokens, or all when `decode_gemm` is set, which then takes the
  // gemm's tokens), reading the weight's decode panels.
  MatPanelFn panel = nullptr;
  MatPanelsFn panels = nullptr;  // `panel` reading the decode panels
  MatDecodeFn decode = nullptr;
  MatDecodeFn decode_gemm = nullptr;
};
inline constexpr int64_t kRepackRowMultiple = 8;
inline constexpr int64_t kRepackGroupTokens = 4;

// The kernels of one type at one instruction-set level (kernel_registry.h);
// null where the level has none of its own (the nearest lower level's is
// used).
struct IsaKernels {
  VecDotFn vec_dot = nullptr;
  MatTileFn mat_tile = nullptr;
  // Where set, preferred over mat_tile.
  MatPanelFn mat_panel = nullptr;
  // Where set, used for products of few tokens with weights packed into
  // decode panels.
  MatDecodeFn mat_decode = nullptr;
  // mat_panel reading the decode panels, for weights that have them.
  MatPanelsFn mat_panels = nullptr;
  // Where dot_gemv is set, used instead of all the above for weights ggml
  // would repack (see RepackedOrder and ResolveRepackedOrder).
  RepackedOrder repacked;
  // Activation formats: faster conversions giving TypeTraits::from_float's
  // and from_float_grouped's bits.
  FromFloatFn from_float = nullptr;
  FromFloatFn from_float_grouped = nullptr;
};

struct TypeTraits {
  // The type's entry of kTensorTypeTable (name, values and bytes per block);
  // all empty for ids ggufd has no kernels for.
  TensorTypeInfo layout;
  DequantizeRowFn dequantize_row = nullptr;
  FromFloatFn from_float = nullptr;  // set for the activation formats
  // Activation formats: the conversion of the rows a RepackedOrder's gemm
  // multiplies, where it differs from from_float.
  FromFloatFn from_float_grouped = nullptr;
  TensorType vec_dot_type = TensorType::kF32;  // paired activation format
  // What the panel kernels add to each quant to make it unsigned for
  // vpdpbusd (removed again through the activations' group sums), or 0.
  int32_t panel_offset = 0;
  // Indexed by Isa's value.
  std::array<IsaKernels, kIsaCount> isa = {};
};

// Traits of a type id; an entry with an empty name when ggufd has no kernels
// for it (or the id is out of range).
const TypeTraits& Traits(uint32_t id);
inline const TypeTraits& Traits(TensorType type) {
  return Traits(static_cast<uint32_t>(type));
}

// True when rows of `type` can be dequantized and multiplied (MatMul).
bool HasKernels(TensorType type);

// The dot kernel used at `isa`: that level's own, else the nearest lower
// level's (the scalar one always exists for types with kernels).
VecDotFn ResolveVecDot(TensorType type, Isa isa);
// The tile kernel used at `isa`, or null when the best dot kernel at that
// level has no tiled form (MatMul then calls the dot kernel per output).
MatTileFn ResolveMatTile(TensorType type, Isa isa);
// The panel kernel used at `isa`, or null (MatMul then uses tiles).
MatPanelFn ResolveMatPanel(TensorType type, Isa isa);
// The activation conversion of `type` at `isa`: from_float, or a SIMD
// version of it that gives the same bits.
FromFloatFn ResolveFromFloat(TensorType type, Isa isa);
// The same for from_float_grouped where the type has one (else null).
FromFloatFn ResolveFromFloatGrouped(TensorType type, Isa isa);
// The mat_panels kernel at `isa` (null: none at the level whose dot kernel
// `isa` uses).
MatPanelsFn ResolveMatPanels(TensorType type, Isa isa);
// The decode-panel kernel at `isa` (null: the type has none at the level
// whose dot kernel `isa` uses).
MatDecodeFn ResolveMatDecode(TensorType type, Isa isa);
// The repacked order MatMul follows at `isa` for a weight of `type` with
// `rows` rows, or null when ggml would not repack it (then vec_dot's order
// applies).
const RepackedOrder* ResolveRepackedOrder(TensorType type, int64_t rows,
                                          Isa isa);

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_TYPE_TRAITS_H_
