// Weights repacked once at load for decoding (what llama.cpp's -rtr and
// ik_llama.cpp's row-interleaved types do), for q4_0, q4_1, q5_0 and q8_0.
//
// A matrix-vector product reads every weight byte once per token, so its
// speed is how many bytes a core turns into sums per cycle. In the file
// layout the rows of a panel are far apart, their scales are half floats
// scattered among the quants, and a 512-bit register has to be assembled
// from several loads. A decode panel puts kPanelRows rows side by side, one
// 32-value block at a time, as whole 64-byte vectors, with the 16 rows'
// scales after them as one vector:
//
//   q4_0, q4_1, q5_0: 4 vectors; vector j holds the 16 packed bytes of
//               rows 4j..4j+3 (lane i: row 4j + i), as in the file;
//               q5_0 then one vector of high bits: for each j, a 64-bit
//               byte mask for values 0-15 of the 4 rows, one for 16-31.
//   q8_0:       8 vectors; vector j holds the 32 bytes of rows 2j, 2j+1,
//               biased to unsigned (+128) so vpdpbusd can take them.
//   then        q4_0, q5_0, q8_0: the 16 scales d as floats;
//               q4_1: the 16 d then the 16 m as half floats.
//   q4_K (256 values): 32 vectors, vector 8c + k holding bytes 4k..4k+3 of
//               its 32-byte chunk c of every row; then the 16 d and the 16
//               dmin as halves; the 8 scales of the 16 rows as bytes
//               ([group][row]); the mins as byte pairs (groups 2c, 2c+1 of
//               each row, per c).
//
// One block of a panel is 320 (q4_0, q4_1), 384 (q5_0), 576 (q8_0) or 2368
// (q4_K) bytes, 64-byte aligned; a panel is its blocks in order; a matrix its
// panels in order, the last one padded by repeating its last row. The sums are
// still ggml's, in ggml's order (decode_panel_avx512_impl.h), so results are
// the same bits as the file layout's kernels give.
#ifndef GGUFD_RUNTIME_TENSOR_DECODE_PANELS_H_
#define GGUFD_RUNTIME_TENSOR_DECODE_PANELS_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "runtime/tensor/tensor_type.h"

namespace ggufd::tensor {

struct WeightView;

// Bytes of one 32-value block of a decode panel, or 0 when `type` has no
// decode-panel layout.
size_t DecodePanelBlockBytes(TensorType type);

// Bytes of the decode panels of a rows x cols matrix of `type` (0: none).
size_t DecodePanelBytes(TensorType type, int64_t rows, int64_t cols);

// Writes w's decode panels to `out` (DecodePanelBytes(w...) bytes, 64-byte
// aligned). Requires DecodePanelBlockBytes(w.type) > 0.
void PackDecodePanels(const WeightView& w, uint8_t* out);

// 64-byte aligned storage for packed weights.
struct AlignedFree {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t[], AlignedFree>;

// Packs w into decode panels when its type has the layout and this CPU a
// kernel for it, and points w.panels at them; the returned storage must
// outlive every use of w (null when nothing was packed).
AlignedBytes AttachDecodePanels(WeightView& w);

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_DECODE_PANELS_H_
