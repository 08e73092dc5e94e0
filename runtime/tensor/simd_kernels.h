// Dot, tile and panel kernels per instruction-set level, each namespace
// defined in translation units compiled with that level's -m flags:
//   dot_avx2.cc              float, q8_0 (AVX2)
//   panel_avx2.cc            q4_0, q4_1 (AVX2 row panels)
//   dot_avx512{,_vnni}.cc    float; q8_0 without VNNI (AVX-512)
//   panel_avx512{,_vnni}.cc  q4_0, q4_1; q8_0 with VNNI (AVX-512 row panels)
//   decode_panel_avx512{,_vnni}.cc  the same types packed at load (decode)
//   decode_panel_avx2.cc     q4_0 packed at load (AVX2 decode)
//   dot256_*.cc              q5_0, q5_1, iq4_nl, K-quants, iq4_xs (all levels);
//                            q4_K in ggml's repacked orders
//                            (Dot/TileQ4_KQ8_KGemv,
//                            ...Gemm; see type_traits.h, RepackedOrder)
// Call them only through type_traits.h, which hands them out after CPU
// detection.
//
// Every DotX computes each output exactly as TileX / PanelX of the same
// level does, whatever the tile shape or token count, so MatMul's results
// never depend on how outputs are grouped into tiles or threads.
#ifndef GGUFD_RUNTIME_TENSOR_SIMD_KERNELS_H_
#define GGUFD_RUNTIME_TENSOR_SIMD_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/type_traits.h"

// Declares the kernels of one level in namespace ggufd::tensor::<ns>.
#define GGUFD_DECLARE_SIMD_KERNELS(ns)                                        \
  namespace ggufd::tensor::ns {                                               \
  float DotF32(int64_t n, const void* w, const void* a);                      \
  float DotF16(int64_t n, const void* w, const void* a);                      \
  float DotBF16(int64_t n, const void* w, const void* a);                     \
  float DotQ5_0Q8_0(int64_t n, const void* w, const void* a);                 \
  float DotQ5_1Q8_1(int64_t n, const void* w, const void* a);                 \
  float DotQ4_1Q8_1(int64_t n, const void* w, const void* a);                 \
  float DotQ4_0Q8_0(int64_t n, const void* w, const void* a);                 \
  float DotIQ4_NLQ8_0(int64_t n, const void* w, const void* a);               \
  float DotQ2_KQ8_K(int64_t n, const void* w, const void* a);                 \
  float DotQ3_KQ8_K(int64_t n, const void* w, const void* a);                 \
  float DotQ4_KQ8_K(int64_t n, const void* w, const void* a);                 \
  float DotQ5_KQ8_K(int64_t n, const void* w, const void* a);                 \
  float DotQ6_KQ8_K(int64_t n, const void* w, const void* a);                 \
  float DotIQ4_XSQ8_K(int64_t n, const void* w, const void* a);               \
  void TileF32(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,      \
               const uint8_t* a, size_t a_stride, int n_cols, float* y,       \
               size_t y_stride);                                              \
  void TileF16(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,      \
               const uint8_t* a, size_t a_stride, int n_cols, float* y,       \
               size_t y_stride);                                              \
  void TileBF16(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,     \
                const uint8_t* a, size_t a_stride, int n_cols, float* y,      \
                size_t y_stride);                                             \
  void TileQ5_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ5_1Q8_1(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ4_1Q8_1(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ4_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileIQ4_NLQ8_0(int64_t n, const uint8_t* w, size_t w_stride,           \
                      int n_rows, const uint8_t* a, size_t a_stride,          \
                      int n_cols, float* y, size_t y_stride);                 \
  void TileQ2_KQ8_K(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ3_KQ8_K(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ4_KQ8_K(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ5_KQ8_K(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ6_KQ8_K(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileIQ4_XSQ8_K(int64_t n, const uint8_t* w, size_t w_stride,           \
                      int n_rows, const uint8_t* a, size_t a_stride,          \
                      int n_cols, float* y, size_t y_stride);                 \
  float DotQ4_KQ8_KGemv(int64_t n, const void* w, const void* a);             \
  float DotQ4_KQ8_KGemm(int64_t n, const void* w, const void* a);             \
  void TileQ4_KQ8_KGemv(int64_t n, const uint8_t* w, size_t w_stride,         \
                        int n_rows, const uint8_t* a, size_t a_stride,        \
                        int n_cols, float* y, size_t y_stride);               \
  void TileQ4_KQ8_KGemm(int64_t n, const uint8_t* w, size_t w_stride,         \
                        int n_rows, const uint8_t* a, size_t a_stride,        \
                        int n_cols, float* y, size_t y_stride);               \
  }

// The row-panel kernels (panel_avx2.cc, panel_avx512_impl.h).
#define GGUFD_DECLARE_PANEL_KERNELS(ns)                                        \
  namespace ggufd::tensor::ns {                                                \
  float PanelDotQ4_0Q8_0(int64_t n, const void* w, const void* a);             \
  float PanelDotQ4_1Q8_1(int64_t n, const void* w, const void* a);             \
  float PanelDotQ4_0Q8_0Whole(int64_t n, const void* w, const void* a);        \
  void PanelQ4_0Q8_0Whole(int64_t n, const uint8_t* w, size_t w_stride,        \
                          int n_rows, const uint8_t* a, size_t a_stride,       \
                          const PanelActBlock* a_blocks, int64_t n_tokens,     \
                          float* y, size_t y_stride);                          \
  void PanelQ4_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                     const uint8_t* a, size_t a_stride,                        \
                     const PanelActBlock* a_blocks, int64_t n_tokens,          \
                     float* y, size_t y_stride);                               \
  void PanelQ4_1Q8_1(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                     const uint8_t* a, size_t a_stride,                        \
                     const PanelActBlock* a_blocks, int64_t n_tokens,          \
                     float* y, size_t y_stride);                               \
  }

// The row-panel kernels reading decode panels (panel_avx512_impl.h).
#define GGUFD_DECLARE_PANELS_KERNELS(ns)                                    \
  namespace ggufd::tensor::ns {                                             \
  void PanelsQ4_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,          \
                      const uint8_t* a, size_t a_stride,                    \
                      const PanelActBlock* a_blocks, int64_t n_tokens,      \
                      float* y, size_t y_stride);                           \
  void PanelsQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int n_rows,     \
                           const uint8_t* a, size_t a_stride,               \
                           const PanelActBlock* a_blocks, int64_t n_tokens, \
                           float* y, size_t y_stride);                      \
  void PanelsQ4_1Q8_1(int64_t n, const uint8_t* panel, int n_rows,          \
                      const uint8_t* a, size_t a_stride,                    \
                      const PanelActBlock* a_blocks, int64_t n_tokens,      \
                      float* y, size_t y_stride);                           \
  }

// The decode-panel kernels (decode_panel_avx512_impl.h).
#define GGUFD_DECLARE_DECODE_KERNELS(ns)                                    \
  namespace ggufd::tensor::ns {                                             \
  void DecodeQ4_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,          \
                      const uint8_t* a, size_t a_stride, int n_tokens,      \
                      float* y, size_t y_stride);                           \
  void DecodeQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int n_rows,     \
                           const uint8_t* a, size_t a_stride, int n_tokens, \
                           float* y, size_t y_stride);                      \
  void DecodeQ5_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,          \
                      const uint8_t* a, size_t a_stride, int n_tokens,      \
                      float* y, size_t y_stride);                           \
  void DecodeQ4_KQ8_KGemv(int64_t n, const uint8_t* panel, int n_rows,      \
                          const uint8_t* a, size_t a_stride, int n_tokens,  \
                          float* y, size_t y_stride);                       \
  void DecodeQ4_KQ8_KGemm(int64_t n, const uint8_t* panel, int n_rows,      \
                          const uint8_t* a, size_t a_stride, int n_tokens,  \
                          float* y, size_t y_stride);                       \
  void DecodeQ4_1Q8_1(int64_t n, const uint8_t* panel, int n_rows,          \
                      const uint8_t* a, size_t a_stride, int n_tokens,      \
                      float* y, size_t y_stride);                           \
  void DecodeQ6_KQ8_K(int64_t n, const uint8_t* panel, int n_rows,          \
                      const uint8_t* a, size_t a_stride, int n_tokens,      \
                      float* y, size_t y_stride);                           \
  }

GGUFD_DECLARE_SIMD_KERNELS(avx2)
namespace ggufd::tensor::avx2 {
float DotQ8_0Q8_0(int64_t n, const void* w, const void* a);
void TileQ8_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,
                  const uint8_t* a, size_t a_stride, int n_cols, float* y,
                  size_t y_stride);
// Decode panels (decode_panel_avx2.cc): q4_0 in its repacked order, q4_1,
// q5_0 and q8_0 in vec_dot's.
void DecodeQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int n_rows,
                         const uint8_t* a, size_t a_stride, int n_tokens,
                         float* y, size_t y_stride);
void DecodeQ8_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t a_stride, int n_tokens, float* y,
                    size_t y_stride);
void DecodeQ4_1Q8_1(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t a_stride, int n_tokens, float* y,
                    size_t y_stride);
void DecodeQ5_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t a_stride, int n_tokens, float* y,
                    size_t y_stride);
// Activation conversion (quantize_act_avx2.cc).
void QuantizeActivationsQ8_0(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_1(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_K(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_KGrouped(const float* src, void* dst, int64_t n);
// q4_K in its repacked orders, q6_K in vec_dot's
// (decode_panel_kquants_avx2.cc).
void DecodeQ6_KQ8_K(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t a_stride, int n_tokens, float* y,
                    size_t y_stride);
void DecodeQ4_KQ8_KGemv(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t a_stride, int n_tokens,
                        float* y, size_t y_stride);
void DecodeQ4_KQ8_KGemm(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t a_stride, int n_tokens,
                        float* y, size_t y_stride);
}  // namespace ggufd::tensor::avx2
GGUFD_DECLARE_SIMD_KERNELS(avx512)
namespace ggufd::tensor::avx512 {
// Activation conversion (quantize_act_avx512.cc).
void QuantizeActivationsQ8_0(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_1(const float* src, void* dst, int64_t n);
float DotQ8_0Q8_0(int64_t n, const void* w, const void* a);
void TileQ8_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,
                  const uint8_t* a, size_t a_stride, int n_cols, float* y,
                  size_t y_stride);
}  // namespace ggufd::tensor::avx512
GGUFD_DECLARE_SIMD_KERNELS(avx512vnni)
GGUFD_DECLARE_PANEL_KERNELS(avx2)
GGUFD_DECLARE_PANEL_KERNELS(avx512)
GGUFD_DECLARE_PANEL_KERNELS(avx512vnni)
GGUFD_DECLARE_PANELS_KERNELS(avx512)
GGUFD_DECLARE_PANELS_KERNELS(avx512vnni)
GGUFD_DECLARE_DECODE_KERNELS(avx512)
GGUFD_DECLARE_DECODE_KERNELS(avx512vnni)

namespace ggufd::tensor::avx512vnni {
float PanelDotQ8_0Q8_0(int64_t n, const void* w, const void* a);
void PanelQ8_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,
                   const uint8_t* a, size_t a_stride,
                   const PanelActBlock* a_blocks, int64_t n_tokens, float* y,
                   size_t y_stride);
void PanelsQ8_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t a_stride,
                    const PanelActBlock* a_blocks, int64_t n_tokens, float* y,
                    size_t y_stride);
void DecodeQ8_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t a_stride, int n_tokens, float* y,
                    size_t y_stride);
}  // namespace ggufd::tensor::avx512vnni

#endif  // GGUFD_RUNTIME_TENSOR_SIMD_KERNELS_H_
