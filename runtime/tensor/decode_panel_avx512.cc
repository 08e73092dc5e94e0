// Decode-panel kernels at AVX-512 F/BW/VL/DQ (see
// decode_panel_avx512_impl.h).
#define GGUFD_SIMD_NAMESPACE avx512
#include "runtime/tensor/decode_panel_avx512_impl.h"
