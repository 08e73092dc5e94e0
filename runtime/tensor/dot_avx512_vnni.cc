// AVX-512 kernels using VNNI's vpdpbusd (see dot_avx512_impl.h).
#define GGUFD_AVX512_NAMESPACE avx512vnni
#include "runtime/tensor/dot_avx512_impl.h"
