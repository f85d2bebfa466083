#include "ngvi/data.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ngvi/error.hpp"

namespace ngvi {

template <class T>
RegressionData<T> RegressionData<T>::dense(const T* x, const T* y, std::size_t num_problems,
                                           std::size_t rows_per_problem, int dimension) {
  RegressionData data;
  data.x = x;
  data.y = y;
  data.num_problems = num_problems;
  data.rows_per_problem = rows_per_problem;
  data.dimension = dimension;
  return data;
}

template <class T>
RegressionData<T> RegressionData<T>::ragged(const T* x, const T* y, const std::int64_t* offsets,
                                            std::size_t num_problems, int dimension) {
  RegressionData data = dense(x, y, num_problems, 0, dimension);  // the offsets give the rows
  data.offsets = offsets;
  return data;
}

template <class T>
std::size_t RegressionData<T>::max_rows() const {
  if (!offsets) return rows_per_problem;
  std::size_t most = 0;
  for (std::size_t b = 0; b < num_problems; ++b) most = std::max(most, rows(b));
  return most;
}

template <class T>
void RegressionData<T>::check(const char* function) const {
  if (num_problems < 1) throw Error(fmt::format("{}: data.num_problems must be at least 1 (got 0)", function));
  if (dimension < 1) throw Error(fmt::format("{}: data.dimension must be at least 1 (got {})", function, dimension));
  if (offsets) {
    if (offsets[0] != 0) throw Error(fmt::format("{}: data.offsets[0] must be 0 (got {})", function, offsets[0]));
    for (std::size_t b = 0; b < num_problems; ++b)
      if (offsets[b + 1] < offsets[b])
        throw Error(fmt::format("{}: data.offsets must not decrease (offsets[{}] = {} > offsets[{}] = {})", function, b,
                                offsets[b], b + 1, offsets[b + 1]));
  }
  if (total_rows() > 0 && (!x || !y))
    throw Error(fmt::format("{}: data.{} is null but the data has {} rows", function, x ? "y" : "x", total_rows()));
}

template struct RegressionData<float>;
template struct RegressionData<double>;

}  // namespace ngvi
