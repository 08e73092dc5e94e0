// The 256-bit kernels of q5_0, q5_1, iq4_nl and the K-quants (q4_K also in
// ggml's repacked orders) at this level's flags (see dot256_ops.h).
#define GGUFD_SIMD_NAMESPACE avx512
#include "runtime/tensor/dot256_kquants_impl.h"
#include "runtime/tensor/dot256_legacy_impl.h"
#include "runtime/tensor/dot256_repacked_impl.h"
