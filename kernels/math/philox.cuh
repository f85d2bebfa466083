// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC 2011).
//
// Every random number ngvi draws is a pure function of (seed, stream, distribution, step, index),
// so results do not depend on thread count, chunking, backend or the order of evaluation.
#pragma once

#include "config.cuh"

namespace ngvi::math {

struct Philox4x32 {
  std::uint32_t v[4];
};

NGVI_HD void philox_multiply(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

/// Ten rounds of Philox4x32 on counter c under key (k0, k1). The words are held in scalars, so that
/// a loop of calls over independent counters can run in SIMD lanes.
NGVI_HD Philox4x32 philox4x32_10(Philox4x32 c, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  std::uint32_t x0 = c.v[0], x1 = c.v[1], x2 = c.v[2], x3 = c.v[3];
  NGVI_UNROLL
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_multiply(kM0, x0, hi0, lo0);
    philox_multiply(kM1, x2, hi1, lo1);
    x0 = hi1 ^ x1 ^ k0;
    x1 = lo1;
    x2 = hi0 ^ x3 ^ k1;
    x3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return Philox4x32{{x0, x1, x2, x3}};
}

/// Independent random streams, so that different uses of one seed never share numbers.
enum class RandomStream : std::uint32_t {
  kSamples = 0,    ///< the Monte Carlo perturbations eps
  kMinibatch = 1,  ///< row subsets for stochastic (minibatched) steps
  kData = 2,       ///< synthetic data sets (demo, tests, benchmarks)
};

/// A uniform number in (0, 1) from 32 random bits: never 0 (so its log is finite) and never above 1.
template <class T>
NGVI_HD T uniform_open(std::uint32_t bits) {
  return (T(bits) + T(0.5)) * T(2.3283064365386963e-10);  // 2^-32
}

/// The Philox counter of (stream, distribution, step, sample, block); the key is the seed.
NGVI_HD Philox4x32 random_counter(RandomStream stream, std::uint32_t distribution, std::uint32_t step,
                                  std::uint32_t sample, std::uint32_t block) {
  return Philox4x32{{block | (static_cast<std::uint32_t>(stream) << 24), sample, distribution, step}};
}

/// Four random 32-bit words addressed by (seed, stream, distribution, step, sample, block).
NGVI_HD Philox4x32 random_block(std::uint64_t seed, RandomStream stream, std::uint32_t distribution,
                                std::uint32_t step, std::uint32_t sample, std::uint32_t block) {
  return philox4x32_10(random_counter(stream, distribution, step, sample, block), static_cast<std::uint32_t>(seed),
                       static_cast<std::uint32_t>(seed >> 32));
}

/// Fills out[0..n) with standard normal numbers (Box-Muller on Philox output) for the given address.
/// Entry i depends only on the address and i, never on n beyond the block of four it falls in.
template <class T>
NGVI_HD void standard_normals(std::uint64_t seed, RandomStream stream, std::uint32_t distribution,
                              std::uint32_t step, std::uint32_t sample, T* out, int n) {
  for (int i = 0; i < n; i += 4) {
    const Philox4x32 r = random_block(seed, stream, distribution, step, sample, static_cast<std::uint32_t>(i / 4));
    T z[4];
    for (int pair = 0; pair < 2; ++pair) {
      const T radius = std::sqrt(T(-2) * std::log(uniform_open<T>(r.v[2 * pair])));
      const T angle = T(2 * kPi) * uniform_open<T>(r.v[2 * pair + 1]);
      z[2 * pair] = radius * std::cos(angle);
      z[2 * pair + 1] = radius * std::sin(angle);
    }
    for (int k = 0; k < 4 && i + k < n; ++k) out[i + k] = z[k];
  }
}

/// Uniform numbers in (0, 1), addressed like standard_normals.
template <class T>
NGVI_HD void uniforms(std::uint64_t seed, RandomStream stream, std::uint32_t distribution, std::uint32_t step,
                      std::uint32_t sample, T* out, int n) {
  for (int i = 0; i < n; i += 4) {
    const Philox4x32 r = random_block(seed, stream, distribution, step, sample, static_cast<std::uint32_t>(i / 4));
    for (int k = 0; k < 4 && i + k < n; ++k) out[i + k] = uniform_open<T>(r.v[k]);
  }
}

}  // namespace ngvi::math
