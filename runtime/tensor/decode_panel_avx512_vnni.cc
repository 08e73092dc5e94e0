// Decode-panel kernels using VNNI's vpdpbusd (see
// decode_panel_avx512_impl.h).
#define GGUFD_SIMD_NAMESPACE avx512vnni
#include "runtime/tensor/decode_panel_avx512_impl.h"
