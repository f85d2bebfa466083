// Minibatches of a problem's rows for stochastic steps (Options::minibatch_rows): M rows drawn
// uniformly with replacement, keyed by (seed, problem, step, k) so that every backend draws the same.
#pragma once

#include <cstddef>

#include "config.cuh"
#include "philox.cuh"

namespace ngvi::math {

/// True when a problem of `rows` rows is evaluated on a minibatch of `minibatch_rows` (0: every row).
NGVI_HD bool uses_minibatch(std::size_t minibatch_rows, std::size_t rows) {
  return minibatch_rows > 0 && minibatch_rows < rows;
}

/// Row k of the minibatch of `problem` at `step`, an index in [0, rows). T is the precision the
/// uniform number is drawn in, which decides the rounding of u * rows.
template <class T>
NGVI_HD std::size_t minibatch_row(std::uint64_t seed, std::uint32_t problem, std::uint32_t step, std::uint32_t k,
                                  std::size_t rows) {
  T u;
  uniforms(seed, RandomStream::kMinibatch, problem, step, k, &u, 1);
  const std::size_t row = static_cast<std::size_t>(u * T(rows));
  return row < rows - 1 ? row : rows - 1;
}

}  // namespace ngvi::math
