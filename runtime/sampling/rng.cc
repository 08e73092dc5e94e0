#include "runtime/sampling/rng.h"

#include <chrono>
#include <cmath>
#include <exception>

namespace ggufd::sampling {

uint64_t ResolveSeed(uint64_t requested) {
  if (requested != kRandomSeed) return requested;
  uint64_t seed = 0;
  try {
    std::random_device device;
    seed = (static_cast<uint64_t>(device()) << 32) | device();
  } catch (const std::exception&) {
    // No entropy device (some sandboxes): the clock is a weaker but valid
    // source, and the resolved seed is reported so a run stays replayable.
    seed = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= static_cast<uint64_t>(
                std::chrono::system_clock::now().time_since_epoch().count())
            << 1;
  }
  return seed == kRandomSeed ? seed - 1 : seed;
}

void Rng::Seed(uint64_t seed) {
  if (seed <= std::numeric_limits<uint32_t>::max()) {
    engine_.seed(static_cast<std::mt19937::result_type>(seed));
    return;
  }
  std::seed_seq sequence{static_cast<uint32_t>(seed),
                         static_cast<uint32_t>(seed >> 32)};
  engine_.seed(sequence);
}

double Rng::NextDouble() {
  const double lo = static_cast<double>(NextU32());
  const double hi = static_cast<double>(NextU32());
  const double value = (lo + hi * 4294967296.0) / 18446744073709551616.0;
  // The rounding of lo + hi * 2^32 to 53 bits can reach 2^64 exactly.
  return value < 1.0 ? value : std::nextafter(1.0, 0.0);
}

}  // namespace ggufd::sampling
