// Shared scaffolding of the per-ISA kernel files: runs a kernel template
// K<R, C> (R weight rows times C activation rows, known at compile time so
// the accumulators live in registers) over a tile of any shape up to
// kMaxTileRows x kMaxTileCols, in sub-tiles of at most RM x CM.
//
// Include only from a kernel translation unit, inside its anonymous
// namespace's enclosing namespace: everything here has internal linkage, so
// code compiled with one level's flags can never be merged by the linker
// into code another level runs.
#ifndef GGUFD_RUNTIME_TENSOR_SIMD_TILE_H_
#define GGUFD_RUNTIME_TENSOR_SIMD_TILE_H_

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

template <template <int, int> class K, int R>
inline void RunCols(int n_cols, int64_t n, const uint8_t* w, size_t ws,
                    const uint8_t* a, size_t as, float* y, size_t ys) {
  switch (n_cols) {
    case 1:
      K<R, 1>::Run(n, w, ws, a, as, y, ys);
      break;
    case 2:
      if constexpr (K<R, 1>::kMaxCols >= 2)
        K<R, 2>::Run(n, w, ws, a, as, y, ys);
      break;
    case 3:
      if constexpr (K<R, 1>::kMaxCols >= 3)
        K<R, 3>::Run(n, w, ws, a, as, y, ys);
      break;
    case 4:
      if constexpr (K<R, 1>::kMaxCols >= 4)
        K<R, 4>::Run(n, w, ws, a, as, y, ys);
      break;
  }
}

// Computes y[c * ys + r] for r < n_rows, c < n_cols with kernel K.
template <template <int, int> class K>
inline void RunTile(int64_t n, const uint8_t* w, size_t ws, int n_rows,
                    const uint8_t* a, size_t as, int n_cols, float* y,
                    size_t ys) {
  constexpr int kRm = K<1, 1>::kMaxRows;
  constexpr int kCm = K<1, 1>::kMaxCols;
  static_assert(kRm <= kMaxTileRows && kCm <= kMaxTileCols);
  for (int c0 = 0; c0 < n_cols; c0 += kCm) {
    const int cc = n_cols - c0 < kCm ? n_cols - c0 : kCm;
    for (int r0 = 0; r0 < n_rows; r0 += kRm) {
      const int rr = n_rows - r0 < kRm ? n_rows - r0 : kRm;
      const uint8_t* wr = w + static_cast<size_t>(r0) * ws;
      const uint8_t* ac = a + static_cast<size_t>(c0) * as;
      float* yt = y + static_cast<size_t>(c0) * ys + r0;
      switch (rr) {
        case 1:
          RunCols<K, 1>(cc, n, wr, ws, ac, as, yt, ys);
          break;
        case 2:
          if constexpr (kRm >= 2) RunCols<K, 2>(cc, n, wr, ws, ac, as, yt, ys);
          break;
        case 3:
          if constexpr (kRm >= 3) RunCols<K, 3>(cc, n, wr, ws, ac, as, yt, ys);
          break;
        case 4:
          if constexpr (kRm >= 4) RunCols<K, 4>(cc, n, wr, ws, ac, as, yt, ys);
          break;
      }
    }
  }
}

// One dot product: the 1 x 1 tile.
template <template <int, int> class K>
inline float RunDot(int64_t n, const void* w, const void* a) {
  float y;
  K<1, 1>::Run(n, static_cast<const uint8_t*>(w), 0,
               static_cast<const uint8_t*>(a), 0, &y, 0);
  return y;
}

}  // namespace
}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_SIMD_TILE_H_
