// AVX-512 F/BW/VL/DQ kernels (see dot_avx512_impl.h).
#define GGUFD_AVX512_NAMESPACE avx512
#include "runtime/tensor/dot_avx512_impl.h"
