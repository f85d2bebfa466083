#include "cli/dataset.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <new>
#include <unordered_map>

#include "cli/common.hpp"
#include "io/csv.hpp"
#include "io/error.hpp"
#include "io/npy.hpp"

namespace ngvi::cli {
namespace {

// The index of flat element `flat` in an array of `shape`, as NumPy writes it: "(3, 17, 2)".
std::string index_string(std::size_t flat, const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t k = shape.size(); k-- > 0;) {
    index[k] = flat % shape[k];
    flat /= shape[k];
  }
  return io::shape_string(index);
}

// Why `value` cannot be a T for the fit ("" if it can): not finite, or beyond float32's range.
template <class T>
std::string unrepresentable(double value) {
  if (!std::isfinite(value)) return "the data must be finite";
  if (std::abs(value) > static_cast<double>(std::numeric_limits<T>::max()))
    return fmt::format("beyond float32's largest value {:g} (--precision float32)", std::numeric_limits<T>::max());
  return {};
}

// Opens a .npy input and reads its header, naming the flag in any error.
std::unique_ptr<io::NpyReader> open_input(const std::string& flag, const std::string& path) {
  try {
    return std::make_unique<io::NpyReader>(path);
  } catch (const io::IoError& e) {
    throw InputError(flag + " " + e.what());
  }
}

// "float32", or the file's own spelling of a dtype ngvi does not read.
std::string dtype_text(const io::NpyReader& a) {
  return a.dtype() == io::DType::Other ? "'" + a.descr() + "'" : std::string(io::dtype_name(a.dtype()));
}

// Reads the whole array as T, checking every value as it is converted.
template <class T>
std::vector<T> read_values(const std::string& flag, const std::string& path, io::NpyReader& a, bool integers_allowed) {
  if (!io::is_floating(a.dtype()) && !(integers_allowed && io::is_integer(a.dtype())))
    throw InputError(fmt::format("{} {}: dtype {} is not supported (float32 or float64{} expected)", flag, path,
                                 dtype_text(a), integers_allowed ? ", or integers" : ""));
  std::vector<T> values;
  try {
    values.resize(a.size());
  } catch (const std::bad_alloc&) {
    throw InputError(fmt::format("{} {}: shape {} needs {:.3g} GB as {}, more memory than can be allocated", flag,
                                 path, io::shape_string(a.shape()), 1e-9 * static_cast<double>(a.size() * sizeof(T)),
                                 sizeof(T) == 4 ? "float32" : "float64"));
  }
  try {
    a.read(values.data(), values.size(), [&](std::size_t i, double v) {
      if (const std::string why = unrepresentable<T>(v); !why.empty())
        throw InputError(fmt::format("{} {}: {} at index {} ({})", flag, path, v, index_string(i, a.shape()), why));
    });
  } catch (const io::IoError& e) {
    throw InputError(flag + " " + e.what());
  }
  return values;
}

std::vector<std::int64_t> read_offsets(io::NpyReader& a) {
  std::vector<std::int64_t> offsets(a.size());
  try {
    a.read(offsets.data(), offsets.size(), [](std::size_t, std::int64_t) {});
  } catch (const io::IoError& e) {
    throw InputError(std::string("--offsets ") + e.what());
  }
  return offsets;
}

// d as the library's int, refusing what an int cannot hold.
int dimension_of(const std::string& file, const std::vector<std::size_t>& shape) {
  const std::size_t d = shape.back();
  if (d > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw InputError(fmt::format("--x {} has shape {}: d = {} covariates exceeds the limit of {}", file,
                                 io::shape_string(shape), d, std::numeric_limits<int>::max()));
  return static_cast<int>(d);
}

template <class T>
Dataset<T> load_npy(const DataFiles& files) {
  const std::unique_ptr<io::NpyReader> x = open_input("--x", files.x);
  const std::unique_ptr<io::NpyReader> y = open_input("--y", files.y);
  const std::vector<std::size_t>&xs = x->shape(), &ys = y->shape();
  auto shapes = [&] {
    return fmt::format("--x {} has shape {} and --y {} has shape {}", files.x, io::shape_string(xs), files.y,
                       io::shape_string(ys));
  };
  Dataset<T> data;
  if (!files.offsets.empty()) {
    // Ragged: x (rows, d), y (rows,), offsets (B + 1,).
    const std::unique_ptr<io::NpyReader> offsets = open_input("--offsets", files.offsets);
    if (xs.size() != 2)
      throw InputError(fmt::format("--x {} has shape {}: with --offsets, x must be (rows, d)", files.x,
                                   io::shape_string(xs)));
    if (ys.size() != 1 || ys[0] != xs[0]) throw InputError(fmt::format("{}: y must be ({},)", shapes(), xs[0]));
    if (!io::is_integer(offsets->dtype()))
      throw InputError(fmt::format("--offsets {}: dtype {} is not supported (integers expected)", files.offsets,
                                   dtype_text(*offsets)));
    if (offsets->shape().size() != 1 || offsets->shape()[0] < 2)
      throw InputError(fmt::format("--offsets {} has shape {}: (B + 1,) with B >= 1 expected", files.offsets,
                                   io::shape_string(offsets->shape())));
    data.offsets = read_offsets(*offsets);
    const std::size_t B = data.offsets.size() - 1;
    if (data.offsets[0] != 0)
      throw InputError(fmt::format("--offsets {}: offsets[0] = {} (must be 0)", files.offsets, data.offsets[0]));
    for (std::size_t b = 0; b < B; ++b)
      if (data.offsets[b + 1] < data.offsets[b])
        throw InputError(fmt::format("--offsets {}: offsets[{}] = {} is less than offsets[{}] = {} (must not decrease)",
                                     files.offsets, b + 1, data.offsets[b + 1], b, data.offsets[b]));
    if (static_cast<std::size_t>(data.offsets[B]) != xs[0])
      throw InputError(fmt::format("--offsets {}: the last offset is {} but --x {} has {} rows", files.offsets,
                                   data.offsets[B], files.x, xs[0]));
    data.num_problems = B;
    data.layout = "ragged";
  } else if (xs.size() == 3) {
    // Dense: x (B, N, d), y (B, N).
    if (ys.size() != 2 || ys[0] != xs[0] || ys[1] != xs[1])
      throw InputError(fmt::format("{}: y must be ({}, {})", shapes(), xs[0], xs[1]));
    data.num_problems = xs[0];
    data.rows_per_problem = xs[1];
    data.layout = "dense";
  } else if (xs.size() == 2) {
    // One problem: x (N, d), y (N,).
    if (ys.size() != 1 || ys[0] != xs[0]) throw InputError(fmt::format("{}: y must be ({},)", shapes(), xs[0]));
    data.num_problems = 1;
    data.rows_per_problem = xs[0];
    data.layout = "dense";
  } else {
    throw InputError(fmt::format("--x {} has shape {}: (B, N, d), or (rows, d) with --offsets, expected", files.x,
                                 io::shape_string(xs)));
  }
  data.dimension = dimension_of(files.x, xs);
  if (data.num_problems < 1) throw InputError(fmt::format("--x {} has shape {}: no problems", files.x, io::shape_string(xs)));
  if (data.dimension < 1)
    throw InputError(fmt::format("--x {} has shape {}: no covariates (d = 0)", files.x, io::shape_string(xs)));
  data.x = read_values<T>("--x", files.x, *x, false);
  data.y = read_values<T>("--y", files.y, *y, true);
  return data;
}

template <class T>
Dataset<T> load_csv(const DataFiles& files) {
  io::CsvTable table;
  try {
    table = io::read_csv(files.csv, files.problem_column);
  } catch (const io::IoError& e) {
    throw InputError(std::string("--csv ") + e.what());
  }
  const int y_index = table.numeric_index(files.y_column);
  if (y_index < 0)
    throw InputError(fmt::format("--csv {}: no column named '{}' for the response (see --y-column)", files.csv,
                                 files.y_column));
  if (table.rows == 0) throw InputError(fmt::format("--csv {}: no data rows", files.csv));
  Dataset<T> data;
  data.layout = "csv";
  for (std::size_t c = 0; c < table.numeric_columns.size(); ++c)
    if (static_cast<int>(c) != y_index) data.covariates.push_back(table.numeric_columns[c]);
  if (data.covariates.empty())
    throw InputError(fmt::format("--csv {}: no covariate columns (every column but '{}' and '{}' is one)", files.csv,
                                 files.problem_column, files.y_column));
  data.dimension = static_cast<int>(data.covariates.size());

  // Problems numbered in order of first appearance; a problem's rows keep their order in the file.
  std::unordered_map<std::string, std::size_t> number;
  std::vector<std::size_t> problem_of(table.rows);
  for (std::size_t r = 0; r < table.rows; ++r) {
    const auto [it, added] = number.emplace(table.labels[r], data.labels.size());
    if (added) data.labels.push_back(table.labels[r]);
    problem_of[r] = it->second;
  }
  data.num_problems = data.labels.size();
  data.offsets.assign(data.num_problems + 1, 0);
  for (std::size_t r = 0; r < table.rows; ++r) ++data.offsets[problem_of[r] + 1];
  for (std::size_t b = 0; b < data.num_problems; ++b) data.offsets[b + 1] += data.offsets[b];
  std::vector<std::int64_t> next(data.offsets.begin(), data.offsets.end() - 1);
  const std::size_t columns = table.numeric_columns.size(), d = data.covariates.size();
  data.x.resize(table.rows * d);
  data.y.resize(table.rows);
  auto value = [&](std::size_t r, std::size_t c) {
    const double v = table.values[r * columns + c];
    if (const std::string why = unrepresentable<T>(v); !why.empty())
      throw InputError(fmt::format("--csv {}: line {}, column '{}': {} ({})", files.csv, table.lines[r],
                                   table.numeric_columns[c], v, why));
    return static_cast<T>(v);
  };
  for (std::size_t r = 0; r < table.rows; ++r) {
    const std::size_t row = static_cast<std::size_t>(next[problem_of[r]]++);
    data.y[row] = value(r, static_cast<std::size_t>(y_index));
    T* x = data.x.data() + row * d;
    for (std::size_t c = 0; c < columns; ++c)
      if (static_cast<int>(c) != y_index) *x++ = value(r, c);
  }
  return data;
}

}  // namespace

std::string problem_name(const std::vector<std::string>& labels, std::size_t problem) {
  if (labels.empty()) return fmt::format("problem {}", problem);
  return fmt::format("problem {} ('{}')", problem, labels[problem]);
}

template <class T>
Dataset<T> load_dataset(const DataFiles& files) {
  if (!files.csv.empty()) return load_csv<T>(files);
  return load_npy<T>(files);
}

template Dataset<float> load_dataset(const DataFiles&);
template Dataset<double> load_dataset(const DataFiles&);

}  // namespace ngvi::cli
