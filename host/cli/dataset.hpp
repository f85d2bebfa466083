// The regression data of `ngvi fit`: read from .npy files (dense or ragged) or a CSV file with a
// problem column, checked, and converted to the fit's scalar type as it is read (chunk by chunk, so
// that no second copy of a large input is ever held).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ngvi/data.hpp"

namespace ngvi::cli {

/// Where the data comes from: either x and y (and offsets for the ragged layout), or csv.
struct DataFiles {
  std::string x, y, offsets;
  std::string csv;
  std::string problem_column = "problem";
  std::string y_column = "y";
};

/// How problem b of a dataset is named in messages: "problem 3", or "problem 3 ('label')" for CSV data.
std::string problem_name(const std::vector<std::string>& labels, std::size_t problem);

/// B regression problems with d covariates, dense (every problem has N rows) or ragged (offsets),
/// in scalar type T.
template <class T>
struct Dataset {
  std::size_t num_problems = 0;
  int dimension = 0;
  std::size_t rows_per_problem = 0;   ///< dense layout
  std::vector<std::int64_t> offsets;  ///< ragged layout: B+1 entries (empty when dense)
  std::vector<T> x;                   ///< (total rows, d)
  std::vector<T> y;                   ///< (total rows)
  std::vector<std::string> labels;    ///< CSV: problem b's label in the problem column
  std::vector<std::string> covariates;  ///< CSV: the covariate columns, in order
  std::string layout;                 ///< "dense", "ragged" or "csv"

  bool ragged() const { return !offsets.empty(); }
  std::size_t total_rows() const {
    return ragged() ? static_cast<std::size_t>(offsets.back()) : num_problems * rows_per_problem;
  }
  std::string problem_name(std::size_t problem) const { return cli::problem_name(labels, problem); }
  /// A view of `x` and `y` with this dataset's layout.
  RegressionData<T> view() const {
    return ragged() ? RegressionData<T>::ragged(x.data(), y.data(), offsets.data(), num_problems, dimension)
                    : RegressionData<T>::dense(x.data(), y.data(), num_problems, rows_per_problem, dimension);
  }

  /// A view of problems [first, first + count) only (an MPI rank's shard); ragged offsets are rebased
  /// to start at 0 in `rebased`, which must outlive the view.
  RegressionData<T> view(std::size_t first, std::size_t count, std::vector<std::int64_t>& rebased) const {
    const std::size_t d = static_cast<std::size_t>(dimension);
    if (!ragged())
      return RegressionData<T>::dense(x.data() + first * rows_per_problem * d, y.data() + first * rows_per_problem,
                                      count, rows_per_problem, dimension);
    rebased.resize(count + 1);
    for (std::size_t k = 0; k <= count; ++k) rebased[k] = offsets[first + k] - offsets[first];
    const std::size_t row = static_cast<std::size_t>(offsets[first]);
    return RegressionData<T>::ragged(x.data() + row * d, y.data() + row, rebased.data(), count, dimension);
  }
};

/// Reads and checks the files: shapes that agree, float data (integer or bool also for y), integer
/// offsets that start at 0, never decrease and end at the number of rows, and finite values that T
/// can hold. Throws InputError naming the flag, the file and the problem (line and column for CSV).
template <class T>
Dataset<T> load_dataset(const DataFiles& files);

}  // namespace ngvi::cli
