// Row-panel kernels at AVX-512 F/BW/VL/DQ (see panel_avx512_impl.h).
#define GGUFD_SIMD_NAMESPACE avx512
#include "runtime/tensor/panel_avx512_impl.h"
