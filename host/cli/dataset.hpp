// The regression data of `ngvi fit`: read from .npy files (dense or ragged) or a CSV file with a
// problem column, checked, and held in float64 until a fit converts it to its precision.
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

/// B regression problems with d covariates, dense (every problem has N rows) or ragged (offsets).
struct Dataset {
  std::size_t num_problems = 0;
  int dimension = 0;
  std::size_t rows_per_problem = 0;   ///< dense layout
  std::vector<std::int64_t> offsets;  ///< ragged layout: B+1 entries (empty when dense)
  std::vector<double> x;              ///< (total rows, d)
  std::vector<double> y;              ///< (total rows)
  std::vector<std::string> labels;    ///< CSV: problem b's label in the problem column
  std::vector<std::string> covariates;  ///< CSV: the covariate columns, in order
  std::string layout;                 ///< "dense", "ragged" or "csv"

  bool ragged() const { return !offsets.empty(); }
  std::size_t total_rows() const { return y.size(); }
  /// How problem b is named in messages: "problem 3", or "problem 3 ('label')" for CSV data.
  std::string problem_name(std::size_t problem) const;
  /// A view of `x` and `y` (converted to T by the caller) with this dataset's layout.
  template <class T>
  RegressionData<T> view(const T* x_data, const T* y_data) const {
    return ragged() ? RegressionData<T>::ragged(x_data, y_data, offsets.data(), num_problems, dimension)
                    : RegressionData<T>::dense(x_data, y_data, num_problems, rows_per_problem, dimension);
  }
};

/// Reads and checks the files: shapes that agree, float data (integer or bool also for y), integer
/// offsets that start at 0, never decrease and end at the number of rows, and finite values.
/// Throws InputError or io::IoError naming the file and the problem.
Dataset load_dataset(const DataFiles& files);

}  // namespace ngvi::cli
