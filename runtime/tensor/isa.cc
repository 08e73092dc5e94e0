#include "runtime/tensor/isa.h"

#include <array>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace ggufd::tensor {
namespace {

constexpr std::array<std::string_view, kIsaCount> kNames = {
    "scalar", "avx2", "avx512", "avx512vnni"};

#if defined(__x86_64__) || defined(__i386__)
// F16C (CPUID.1:ECX bit 29); clang's __builtin_cpu_supports has no name
// for it.
bool HasF16c() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
#endif

bool Detect(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") &&
                    __builtin_cpu_supports("fma") && HasF16c();
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512dq");
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return avx2;
    case Isa::kAvx512:
      return avx512;
    case Isa::kAvx512Vnni:
      return avx512 && __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == Isa::kScalar;
#endif
}

Isa DetectBest() {
  Isa best = Isa::kScalar;
  for (int i = 1; i < kIsaCount; ++i) {
    if (Detect(static_cast<Isa>(i))) best = static_cast<Isa>(i);
  }
  if (const char* cap = std::getenv("GGUFD_MAX_ISA")) {
    if (std::optional<Isa> limit = ParseIsa(cap); limit && *limit < best) {
      best = *limit;
    }
  }
  return best;
}

}  // namespace

std::string_view IsaName(Isa isa) { return kNames[static_cast<int>(isa)]; }

std::optional<Isa> ParseIsa(std::string_view name) {
  for (int i = 0; i < kIsaCount; ++i) {
    if (kNames[i] == name) return static_cast<Isa>(i);
  }
  return std::nullopt;
}

bool IsaSupported(Isa isa) {
  static const std::array<bool, kIsaCount> supported = [] {
    std::array<bool, kIsaCount> s{};
    for (int i = 0; i < kIsaCount; ++i) s[i] = Detect(static_cast<Isa>(i));
    return s;
  }();
  return supported[static_cast<int>(isa)];
}

Isa BestIsa() {
  static const Isa best = DetectBest();
  return best;
}

}  // namespace ggufd::tensor
