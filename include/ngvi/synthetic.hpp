/// @file synthetic.hpp
/// @brief Reproducible synthetic regression batches, for examples, tests and benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ngvi/data.hpp"
#include "ngvi/export.hpp"
#include "ngvi/models.hpp"

namespace ngvi {

/// @brief B regression problems drawn from their own model: problem b has a true parameter
/// z_b ~ N(0, I), covariates x_n ~ N(0, s^2 I) with s = 1/sqrt(d) (s = 0.5/sqrt(d) for Poisson, so that
/// rates stay moderate), and responses drawn from the likelihood at a_n = x_n^T z_b (Linear: noise 1).
/// Everything is a function of the seed alone (counter-based random numbers).
template <class T>
struct NGVI_API SyntheticProblems {
  Likelihood likelihood = Likelihood::Logistic;
  std::size_t num_problems = 0;
  int dimension = 0;
  std::vector<T> x;                     ///< (total_rows, d)
  std::vector<T> y;                     ///< (total_rows)
  std::vector<std::int64_t> offsets;    ///< (B + 1)
  std::vector<T> truth;                 ///< (B, d): the parameters the data were drawn from

  /// A view of the data: dense when every problem has the same number of rows, else ragged.
  RegressionData<T> data() const;

  /// @brief Draws the problems. Problem b has a number of rows drawn uniformly from
  /// [min_rows, max_rows]. Throws ngvi::Error for d < 1, B < 1 or min_rows > max_rows.
  static SyntheticProblems generate(Likelihood likelihood, std::size_t num_problems, int dimension,
                                    std::size_t min_rows, std::size_t max_rows, std::uint64_t seed);
};

extern template struct SyntheticProblems<float>;
extern template struct SyntheticProblems<double>;

}  // namespace ngvi
