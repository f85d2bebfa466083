/// @file data.hpp
/// @brief RegressionData: a view of the rows (x_n, y_n) of B regression problems.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ngvi/export.hpp"

namespace ngvi {

/// @brief Rows of B regression problems, each row a covariate vector x_n (d entries) and a response y_n.
///
/// A view: it never copies or frees the arrays, which must outlive every model and fit that uses it.
/// Two layouts:
///  - dense: every problem has N rows; x is (B, N, d), y is (B, N);
///  - ragged: problem b owns rows offsets[b] .. offsets[b+1]-1 of x (total_rows, d) and y (total_rows);
///    offsets has B+1 entries, starts at 0 and never decreases.
template <class T>
struct NGVI_API RegressionData {
  const T* x = nullptr;
  const T* y = nullptr;
  std::size_t num_problems = 0;
  int dimension = 0;
  std::size_t rows_per_problem = 0;        ///< dense layout only
  const std::int64_t* offsets = nullptr;   ///< ragged layout only (nullptr for dense)

  static RegressionData dense(const T* x, const T* y, std::size_t num_problems, std::size_t rows_per_problem,
                              int dimension);
  static RegressionData ragged(const T* x, const T* y, const std::int64_t* offsets, std::size_t num_problems,
                               int dimension);

  /// First row of problem b (an index into the rows of x and y).
  std::size_t begin(std::size_t problem) const {
    return offsets ? static_cast<std::size_t>(offsets[problem]) : problem * rows_per_problem;
  }
  /// Number of rows of problem b.
  std::size_t rows(std::size_t problem) const {
    return offsets ? static_cast<std::size_t>(offsets[problem + 1] - offsets[problem]) : rows_per_problem;
  }
  std::size_t total_rows() const {
    return offsets ? static_cast<std::size_t>(offsets[num_problems]) : num_problems * rows_per_problem;
  }
  /// The largest number of rows of any problem.
  std::size_t max_rows() const;

  /// Throws ngvi::Error naming `function` and the argument if the view is malformed (null arrays,
  /// d < 1, offsets that do not start at 0 or decrease). Bad values inside one problem are not
  /// checked here: they make that problem's status InvalidData when a fit starts.
  void check(const char* function) const;
};

extern template struct RegressionData<float>;
extern template struct RegressionData<double>;

}  // namespace ngvi
