// Dot and tile kernels per instruction-set level, each namespace defined in
// its own translation unit compiled with that level's -m flags
// (dot_avx2.cc, dot_avx512.cc, dot_avx512_vnni.cc). Call them only through
// type_traits.h, which hands them out after CPU detection.
//
// Every DotX is TileX on a 1 x 1 tile, and a tile computes each output with
// the same operations in the same order whatever its shape, so MatMul's
// results never depend on how outputs are grouped into tiles or threads.
#ifndef GGUFD_RUNTIME_TENSOR_SIMD_KERNELS_H_
#define GGUFD_RUNTIME_TENSOR_SIMD_KERNELS_H_

#include <cstddef>
#include <cstdint>

// Declares the kernels of one level in namespace ggufd::tensor::<ns>.
#define GGUFD_DECLARE_SIMD_KERNELS(ns)                                        \
  namespace ggufd::tensor::ns {                                               \
  float DotF32(int64_t n, const void* w, const void* a);                      \
  float DotF16(int64_t n, const void* w, const void* a);                      \
  float DotBF16(int64_t n, const void* w, const void* a);                     \
  float DotQ4_0Q8_0(int64_t n, const void* w, const void* a);                 \
  float DotQ4_1Q8_1(int64_t n, const void* w, const void* a);                 \
  float DotQ8_0Q8_0(int64_t n, const void* w, const void* a);                 \
  void TileF32(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,      \
               const uint8_t* a, size_t a_stride, int n_cols, float* y,       \
               size_t y_stride);                                              \
  void TileF16(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,      \
               const uint8_t* a, size_t a_stride, int n_cols, float* y,       \
               size_t y_stride);                                              \
  void TileBF16(int64_t n, const uint8_t* w, size_t w_stride, int n_rows,     \
                const uint8_t* a, size_t a_stride, int n_cols, float* y,      \
                size_t y_stride);                                             \
  void TileQ4_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ4_1Q8_1(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  void TileQ8_0Q8_0(int64_t n, const uint8_t* w, size_t w_stride, int n_rows, \
                    const uint8_t* a, size_t a_stride, int n_cols, float* y,  \
                    size_t y_stride);                                         \
  }

GGUFD_DECLARE_SIMD_KERNELS(avx2)
GGUFD_DECLARE_SIMD_KERNELS(avx512)
GGUFD_DECLARE_SIMD_KERNELS(avx512vnni)

#endif  // GGUFD_RUNTIME_TENSOR_SIMD_KERNELS_H_
