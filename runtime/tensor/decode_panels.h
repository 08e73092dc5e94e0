// Weights repacked once at load for decoding (what llama.cpp's -rtr and
// ik_llama.cpp's row-interleaved types do), for q4_0, q4_1, q5_0, q8_0, q4_K
// and q6_K.
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
//   q8_0:       8 vectors; vector k holds values 4k..4k+3 of every row
//               (lane i: row i), biased to unsigned (+128) so vpdpbusd can
//               take them: each lane's sum is then one row's 4-value group,
//               which ggml's order keeps apart, so no lane is shuffled.
//   then        q4_1: the 16 d then the 16 m as half floats; q5_0: the 16
//               d as floats (its prompts run the decode kernels, where
//               converting halves costs more than the bytes saved).
//   q4_K (256 values): 32 vectors, vector 8c + k holding bytes 4k..4k+3 of
//               its 32-byte chunk c of every row; then the 16 d and the 16
//               dmin as halves; the 8 scales of the 16 rows as bytes
//               ([group][row]); the mins as byte pairs (groups 2c, 2c+1 of
//               each row, per c).
//   q6_K (256 values, 8 chunks of 32): 16 units of 3 vectors, unit 8h + c
//               for values 32c + 4k..32c + 4k + 3 with k = 4h + j, j = 0..3
//               (lane i: row i): those of j < 3 in the low 6 bits of vector
//               j, those of j = 3 in the top 2 bits of the three (bits 2m,
//               2m+1 in vector m); then the 16 group scales of the rows as
//               byte pairs ([pair p][row]: groups 2p, 2p+1). So the quants
//               cost the file's 6 bits, unpack in 9 operations per 4
//               vectors, and a half h of ggml's 8 lanes k needs one group
//               scale per chunk.
//   q4_0, q8_0, q6_K blocks go in pairs: the quants of block 2p, those of
//               block 2p + 1, then the 16 d of each as half floats (one
//               vector), so a token streams the file's bytes per value and
//               every vector stays aligned.
//
// A pair of blocks is 576 (q4_0), 1088 (q8_0) or 6720 (q6_K) bytes, one
// block 320 (q4_1), 384 (q5_0) or 2368 (q4_K), all 64-byte aligned; a panel
// is its blocks in order (an odd last block padded to a pair with zeros); a
// matrix its panels in order, the last one padded by repeating its last
// row. The sums are still ggml's, in ggml's order
// (decode_panel_avx512_impl.h), so results are the same bits as the file
// layout's kernels give.
#ifndef GGUFD_RUNTIME_TENSOR_DECODE_PANELS_H_
#define GGUFD_RUNTIME_TENSOR_DECODE_PANELS_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "runtime/tensor/tensor_type.h"

namespace ggufd::tensor {

struct WeightView;

// Whether `type` has a decode-panel layout.
bool HasDecodePanelLayout(TensorType type);

// Bytes of one panel (kPanelRows rows) of a matrix of `cols` columns, or 0
// when `type` has no decode-panel layout.
size_t DecodePanelStride(TensorType type, int64_t cols);

// Block b of a panel in pairs (q4_0, q8_0, q6_K) whose blocks keep
// `quant_bytes` of quants: the offsets of those quants and of its 16 half
// scales from the panel's start.
inline constexpr size_t PanelPairBytes(size_t quant_bytes) {
  return 2 * quant_bytes + 64;
}
inline constexpr size_t PairedQuantsAt(int64_t b, size_t quant_bytes) {
  return static_cast<size_t>(b >> 1) * PanelPairBytes(quant_bytes) +
         static_cast<size_t>(b & 1) * quant_bytes;
}
inline constexpr size_t PairedScalesAt(int64_t b, size_t quant_bytes) {
  return static_cast<size_t>(b >> 1) * PanelPairBytes(quant_bytes) +
         2 * quant_bytes + static_cast<size_t>(b & 1) * 32;
}

// Bytes of the decode panels of a rows x cols matrix of `type` (0: none).
size_t DecodePanelBytes(TensorType type, int64_t rows, int64_t cols);

// Writes w's decode panels to `out` (DecodePanelBytes(w...) bytes, 64-byte
// aligned). Requires HasDecodePanelLayout(w.type).
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
