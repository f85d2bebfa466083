// CSV tables with a header line: numeric columns, and optionally one text column of labels.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ngvi::io {

/// A CSV file read whole. Fields are separated by commas; spaces around a field and one pair of
/// double quotes around it are dropped (quoted fields cannot contain commas).
struct CsvTable {
  std::vector<std::string> columns;  ///< the header, in file order
  std::size_t rows = 0;
  std::vector<std::string> numeric_columns;  ///< every column but the label column, in file order
  std::vector<double> values;                ///< (rows, numeric columns), row-major
  std::vector<std::string> labels;           ///< the label column, one entry per row (empty without one)

  /// Position of `name` among numeric_columns, or -1.
  int numeric_index(const std::string& name) const;
};

/// Reads a CSV file. Every field of a numeric column must be a finite number. With a non-empty
/// `label_column`, that column is kept as text and must exist. Throws IoError naming the file, the
/// line and the column of the first problem.
CsvTable read_csv(const std::string& path, const std::string& label_column = "");

}  // namespace ngvi::io
