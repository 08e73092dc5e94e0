// Row-panel kernels using VNNI's vpdpbusd (see panel_avx512_impl.h).
#define GGUFD_SIMD_NAMESPACE avx512vnni
#include "runtime/tensor/panel_avx512_impl.h"
