#include "cli/dataset.hpp"

#include <fmt/format.h>

#include <cmath>
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

// Reads a .npy input, naming the flag in any error.
io::NpyArray read_input(const std::string& flag, const std::string& path) {
  try {
    return io::read_npy(path);
  } catch (const io::IoError& e) {
    throw InputError(flag + " " + e.what());
  }
}

// "float32", or the file's own spelling of a dtype ngvi does not read.
std::string dtype_text(const io::NpyArray& a) {
  return a.dtype == io::DType::Other ? "'" + a.descr + "'" : std::string(io::dtype_name(a.dtype));
}

std::vector<double> read_values(const std::string& flag, const std::string& path, const io::NpyArray& a,
                                bool integers_allowed) {
  if (!io::is_floating(a.dtype) && !(integers_allowed && io::is_integer(a.dtype)))
    throw InputError(fmt::format("{} {}: dtype {} is not supported (float32 or float64{} expected)", flag, path,
                                 dtype_text(a), integers_allowed ? ", or integers" : ""));
  std::vector<double> values = a.to_double();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw InputError(fmt::format("{} {}: {} at index {} (the data must be finite)", flag, path, values[i],
                                   index_string(i, a.shape)));
  return values;
}

Dataset load_npy(const DataFiles& files) {
  const io::NpyArray x = read_input("--x", files.x);
  const io::NpyArray y = read_input("--y", files.y);
  auto shapes = [&] {
    return fmt::format("--x {} has shape {} and --y {} has shape {}", files.x, io::shape_string(x.shape), files.y,
                       io::shape_string(y.shape));
  };
  Dataset data;
  if (!files.offsets.empty()) {
    // Ragged: x (rows, d), y (rows,), offsets (B + 1,).
    const io::NpyArray offsets = read_input("--offsets", files.offsets);
    if (x.shape.size() != 2)
      throw InputError(fmt::format("--x {} has shape {}: with --offsets, x must be (rows, d)", files.x,
                                   io::shape_string(x.shape)));
    if (y.shape.size() != 1 || y.shape[0] != x.shape[0])
      throw InputError(fmt::format("{}: y must be ({},)", shapes(), x.shape[0]));
    if (!io::is_integer(offsets.dtype))
      throw InputError(fmt::format("--offsets {}: dtype {} is not supported (integers expected)", files.offsets,
                                   dtype_text(offsets)));
    if (offsets.shape.size() != 1 || offsets.shape[0] < 2)
      throw InputError(fmt::format("--offsets {} has shape {}: (B + 1,) with B >= 1 expected", files.offsets,
                                   io::shape_string(offsets.shape)));
    data.offsets = offsets.to_int64();
    const std::size_t B = data.offsets.size() - 1;
    if (data.offsets[0] != 0)
      throw InputError(fmt::format("--offsets {}: offsets[0] = {} (must be 0)", files.offsets, data.offsets[0]));
    for (std::size_t b = 0; b < B; ++b)
      if (data.offsets[b + 1] < data.offsets[b])
        throw InputError(fmt::format("--offsets {}: offsets[{}] = {} is less than offsets[{}] = {} (must not decrease)",
                                     files.offsets, b + 1, data.offsets[b + 1], b, data.offsets[b]));
    if (static_cast<std::size_t>(data.offsets[B]) != x.shape[0])
      throw InputError(fmt::format("--offsets {}: the last offset is {} but --x {} has {} rows", files.offsets,
                                   data.offsets[B], files.x, x.shape[0]));
    data.num_problems = B;
    data.layout = "ragged";
  } else if (x.shape.size() == 3) {
    // Dense: x (B, N, d), y (B, N).
    if (y.shape.size() != 2 || y.shape[0] != x.shape[0] || y.shape[1] != x.shape[1])
      throw InputError(fmt::format("{}: y must be ({}, {})", shapes(), x.shape[0], x.shape[1]));
    data.num_problems = x.shape[0];
    data.rows_per_problem = x.shape[1];
    data.layout = "dense";
  } else if (x.shape.size() == 2) {
    // One problem: x (N, d), y (N,).
    if (y.shape.size() != 1 || y.shape[0] != x.shape[0])
      throw InputError(fmt::format("{}: y must be ({},)", shapes(), x.shape[0]));
    data.num_problems = 1;
    data.rows_per_problem = x.shape[0];
    data.layout = "dense";
  } else {
    throw InputError(fmt::format("--x {} has shape {}: (B, N, d), or (rows, d) with --offsets, expected", files.x,
                                 io::shape_string(x.shape)));
  }
  data.dimension = static_cast<int>(x.shape.back());
  if (data.num_problems < 1) throw InputError(fmt::format("--x {} has shape {}: no problems", files.x, io::shape_string(x.shape)));
  if (data.dimension < 1)
    throw InputError(fmt::format("--x {} has shape {}: no covariates (d = 0)", files.x, io::shape_string(x.shape)));
  data.x = read_values("--x", files.x, x, false);
  data.y = read_values("--y", files.y, y, true);
  return data;
}

Dataset load_csv(const DataFiles& files) {
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
  Dataset data;
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
  for (std::size_t r = 0; r < table.rows; ++r) {
    const std::size_t row = static_cast<std::size_t>(next[problem_of[r]]++);
    const double* values = table.values.data() + r * columns;
    data.y[row] = values[y_index];
    double* x = data.x.data() + row * d;
    for (std::size_t c = 0; c < columns; ++c)
      if (static_cast<int>(c) != y_index) *x++ = values[c];
  }
  return data;
}

}  // namespace

std::string Dataset::problem_name(std::size_t problem) const {
  if (labels.empty()) return fmt::format("problem {}", problem);
  return fmt::format("problem {} ('{}')", problem, labels[problem]);
}

Dataset load_dataset(const DataFiles& files) {
  if (!files.csv.empty()) return load_csv(files);
  return load_npy(files);
}

}  // namespace ngvi::cli
