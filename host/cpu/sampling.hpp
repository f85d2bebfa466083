// The Monte Carlo draw of one distribution on the host: the numbers of math::draw_eps and
// math::draw_points (the same Philox words, the same Box-Muller pairs, the same solves), up to
// rounding, arranged for SIMD: the Box-Muller transcendentals run on whole arrays, and the full
// family's solve z = mu + L^-T eps runs once for all independent samples, the antithetic partner of
// each being mu - L^-T eps exactly.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>

#include "math/dense.cuh"
#include "math/philox.cuh"
#include "math/step.cuh"
#include "engine/scratch.hpp"

namespace ngvi::detail {

/// Samples drawn independently; the others are antithetic partners.
inline int independent_samples(const math::StepPlan& p) { return p.antithetic ? (p.samples + 1) / 2 : p.samples; }

/// Columns of the full family's solve: the independent samples, padded with zeros to whole 64-byte
/// rows (a triangular solve on rows of a fixed SIMD width is faster than on shorter, ragged ones).
template <class T>
int solve_columns(const math::StepPlan& p) {
  return static_cast<int>(round_up_to_line<T>(static_cast<std::size_t>(independent_samples(p))));
}

/// Entries of scratch draw_samples needs: two arrays with one entry per Box-Muller pair, then
/// (reusing them) the (d, solve_columns) right-hand sides of the solve.
template <class T>
std::size_t draw_scratch_size(const math::StepPlan& p) {
  const std::size_t d = static_cast<std::size_t>(p.d);
  return std::max(2 * static_cast<std::size_t>(independent_samples(p)) * ((d + 3) / 4 * 2),
                  d * static_cast<std::size_t>(solve_columns<T>(p)));
}

/// eps (S, d) and points (S, d) of distribution b at `step`, as math::draw_eps and math::draw_points.
template <class T>
void draw_samples(const math::StepPlan& p, std::uint32_t b, std::uint32_t step, const T* mu, const T* factor, T* eps,
                  T* points, T* scratch) {
  const int d = p.d, S = p.samples, independent = independent_samples(p), blocks = (d + 3) / 4;
  const int pairs = independent * blocks * 2;
  // Box-Muller as in math::standard_normals: pair j of sample k turns the words (2j, 2j+1) of k's
  // Philox blocks into (r cos a, r sin a) with r = sqrt(-2 log u1), a = 2 pi u2.
  T* cosine = scratch;        // u1, then r cos a
  T* sine = scratch + pairs;  // a, then r sin a
  // The Philox blocks of all (sample k, block) pairs, 16 at a time in a loop of fixed length that
  // the compiler vectorizes (its 32-bit products run in SIMD lanes).
  constexpr int kLanes = 16;
  const int count = independent * blocks;
  const std::uint32_t key0 = static_cast<std::uint32_t>(p.seed), key1 = static_cast<std::uint32_t>(p.seed >> 32);
  const std::uint32_t problem = p.first_problem + b;  // the random-number index, as in math::draw_eps_sample
  for (int j0 = 0; j0 < count; j0 += kLanes) {
    std::uint32_t sample[kLanes], block[kLanes], words[4][kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const int j = std::min(j0 + l, count - 1);  // lanes past the end repeat the last block
      sample[l] = static_cast<std::uint32_t>(j / blocks);
      block[l] = static_cast<std::uint32_t>(j % blocks);
    }
    NGVI_SIMD
    for (int l = 0; l < kLanes; ++l) {  // math::random_block, with the key split once
      const math::Philox4x32 r =
          math::philox4x32_10(math::random_counter(math::RandomStream::kSamples, problem, step, sample[l], block[l]), key0, key1);
      words[0][l] = r.v[0];
      words[1][l] = r.v[1];
      words[2][l] = r.v[2];
      words[3][l] = r.v[3];
    }
    for (int l = 0; l < std::min(kLanes, count - j0); ++l)
      for (int pair = 0; pair < 2; ++pair) {
        const int j = (j0 + l) * 2 + pair;
        cosine[j] = math::uniform_open<T>(words[2 * pair][l]);
        sine[j] = T(2 * math::kPi) * math::uniform_open<T>(words[2 * pair + 1][l]);
      }
  }
  // In fixed-size chunks, so that every entry takes Eigen's SIMD path whatever the count and the
  // alignment (its scalar head and tail would round differently, and results must not depend on
  // where the scratch lies).
  using Chunk = Eigen::Array<T, 16, 1>;
  for (int j = 0; j < pairs; j += Chunk::SizeAtCompileTime) {
    const int n = std::min<int>(Chunk::SizeAtCompileTime, pairs - j);
    Chunk u = Chunk::Constant(T(0.5)), angle = Chunk::Zero();
    u.head(n) = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(cosine + j, n);
    angle.head(n) = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(sine + j, n);
    const Chunk radius = (T(-2) * u.log()).sqrt();
    const Chunk c = radius * angle.cos(), s = radius * angle.sin();
    for (int i = 0; i < n; ++i) {
      cosine[j + i] = c[i];
      sine[j + i] = s[i];
    }
  }
  const int stride = p.antithetic ? 2 : 1;  // sample of the k-th independent draw
  for (int k = 0; k < independent; ++k) {
    T* e = eps + k * stride * d;
    const T* c = cosine + k * blocks * 2;
    const T* s = sine + k * blocks * 2;
    for (int i = 0; i + 1 < d; i += 2) {
      e[i] = c[i / 2];
      e[i + 1] = s[i / 2];
    }
    if (d % 2) e[d - 1] = c[d / 2];
    if (p.antithetic && k * 2 + 1 < S)
      for (int i = 0; i < d; ++i) e[d + i] = -e[i];
  }
  if (p.diagonal) return math::draw_points(p, mu, factor, eps, points);
  // V = L^-T [eps_0 eps_2 ... 0] (d, columns), all samples in one solve; z = mu + v or mu - v.
  const int columns = solve_columns<T>(p);
  T* V = scratch;
  for (int i = 0; i < d; ++i) {
    for (int k = 0; k < independent; ++k) V[i * columns + k] = eps[k * stride * d + i];
    for (int k = independent; k < columns; ++k) V[i * columns + k] = T(0);
  }
  math::solve_lower_transpose_rows(factor, V, d, columns);
  for (int k = 0; k < independent; ++k) {
    T* z = points + k * stride * d;
    for (int i = 0; i < d; ++i) z[i] = mu[i] + V[i * columns + k];
    if (p.antithetic && k * 2 + 1 < S)
      for (int i = 0; i < d; ++i) z[d + i] = mu[i] - V[i * columns + k];
  }
}

}  // namespace ngvi::detail
