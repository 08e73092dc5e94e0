// The sampler's deterministic random number generator. std::mt19937 is fully
// specified by the C++ standard, and floats are derived from its raw 32-bit
// outputs here rather than through std::uniform_real_distribution (whose
// algorithm is implementation-defined), so one seed gives one sequence on
// every machine, compiler and thread count.
#ifndef GGUFD_RUNTIME_SAMPLING_RNG_H_
#define GGUFD_RUNTIME_SAMPLING_RNG_H_

#include <cstdint>
#include <limits>
#include <random>

namespace ggufd::sampling {

// The seed value that asks for a fresh random seed (see ResolveSeed).
inline constexpr uint64_t kRandomSeed = std::numeric_limits<uint64_t>::max();

// Returns `requested`, or for kRandomSeed a seed drawn from std::random_device
// (falling back to the clock where no device exists). The result is never
// kRandomSeed, so it can be reported and replayed.
uint64_t ResolveSeed(uint64_t requested);

class Rng {
 public:
  explicit Rng(uint64_t seed) { Seed(seed); }

  // Restarts the sequence. Seeds below 2^32 seed the engine directly, which is
  // what llama.cpp's dist sampler does with its 32-bit seed; larger seeds go
  // through std::seed_seq (also fully specified) so that no two differ.
  void Seed(uint64_t seed);

  // The next raw 32 bits.
  uint32_t NextU32() { return static_cast<uint32_t>(engine_()); }

  // A double uniform in [0, 1) from two raw outputs, low word first:
  // (lo + hi * 2^32) / 2^64, clamped below 1. This is the value libstdc++'s
  // uniform_real_distribution<double>(0, 1) yields for std::mt19937, so
  // llama.cpp built with libstdc++ draws the same numbers from the same seed.
  double NextDouble();

 private:
  std::mt19937 engine_;
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_RNG_H_
