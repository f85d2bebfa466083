// The Monte Carlo draw of one distribution on the host: the numbers of math::draw_eps and
// math::draw_points (the same Philox words, the same Box-Muller pairs, the same solves), up to
// rounding, arranged for SIMD: the Box-Muller transcendentals run on whole arrays (with libmvec's
// SIMD functions where it is linked, cpu/vector_math.hpp), and the full family's solve
// z = mu + L^-T eps runs once for all independent samples, the antithetic partner of each being
// mu - L^-T eps exactly.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cpu/vector_math.hpp"
#include "engine/scratch.hpp"
#include "math/dense.cuh"
#include "math/philox.cuh"
#include "math/step.cuh"

namespace ngvi::detail {

/// Samples drawn independently; the others are antithetic partners.
inline int independent_samples(const math::StepPlan& p) { return p.antithetic ? (p.samples + 1) / 2 : p.samples; }

/// Columns of the full family's solve: the independent samples, padded with zeros to whole 64-byte
/// rows (a triangular solve on rows of a fixed SIMD width is faster than on shorter, ragged ones).
template <class T>
int solve_columns(const math::StepPlan& p) {
  return static_cast<int>(round_up_to_line<T>(static_cast<std::size_t>(independent_samples(p))));
}

/// Box-Muller pairs of a draw (two per Philox block of each independent sample), rounded up to a whole
/// number of kBoxMullerChunk: the transform's SIMD loop then has no scalar remainder, whose entries
/// would round differently (an entry must not depend on how many others are drawn).
inline constexpr int kBoxMullerChunk = 16;
inline int box_muller_pairs(const math::StepPlan& p) {
  const int pairs = independent_samples(p) * ((p.d + 3) / 4) * 2;
  return (pairs + kBoxMullerChunk - 1) / kBoxMullerChunk * kBoxMullerChunk;
}

/// Entries of scratch draw_samples needs: four arrays with one entry per Box-Muller pair, then
/// (reusing them) the (d, solve_columns) right-hand sides of the solve.
template <class T>
std::size_t draw_scratch_size(const math::StepPlan& p) {
  return std::max(4 * static_cast<std::size_t>(box_muller_pairs(p)),
                  static_cast<std::size_t>(p.d) * static_cast<std::size_t>(solve_columns<T>(p)));
}

/// eps (S, d) and points (S, d) of distribution b at `step`, as math::draw_eps and math::draw_points.
template <class T>
void draw_samples(const math::StepPlan& p, std::uint32_t b, std::uint32_t step, const T* mu, const T* factor, T* eps,
                  T* points, T* scratch) {
  const int d = p.d, S = p.samples, independent = independent_samples(p), blocks = (d + 3) / 4;
  const int pairs = independent * blocks * 2, padded = box_muller_pairs(p);
  // Box-Muller as in math::standard_normals: pair j of sample k turns the words (2j, 2j+1) of k's
  // Philox blocks into (r cos a, r sin a) with r = sqrt(-2 log u1), a = 2 pi u2.
  T* u = scratch;
  T* angle = u + padded;
  T* cosine = angle + padded;  // r cos a
  T* sine = cosine + padded;   // r sin a
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
        u[j] = math::uniform_open<T>(words[2 * pair][l]);
        angle[j] = T(2 * math::kPi) * math::uniform_open<T>(words[2 * pair + 1][l]);
      }
  }
  for (int j = pairs; j < padded; ++j) {  // the padding's transform is finite, and unused
    u[j] = T(0.5);
    angle[j] = T(0);
  }
  // Inputs and outputs in separate arrays: GCC vectorizes the loop (with libmvec) only then.
  NGVI_SIMD
  for (int j = 0; j < padded; ++j) {
    const T radius = std::sqrt(T(-2) * std::log(u[j]));
    cosine[j] = radius * std::cos(angle[j]);
    sine[j] = radius * std::sin(angle[j]);
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
