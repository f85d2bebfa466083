// CSV tables with a header line (RFC 4180, parsed by libcsv): numeric columns, and optionally one text
// column of labels.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

namespace ngvi::io {

/// A CSV file read whole. Fields are separated by commas and may be quoted ("a, b", "say ""hi""",
/// line breaks inside quotes); spaces around an unquoted field are dropped; a UTF-8 byte order mark
/// (Excel's "CSV UTF-8") is skipped; empty lines are ignored.
struct CsvTable {
  std::vector<std::string> columns;  ///< the header, in file order
  std::size_t rows = 0;
  std::vector<std::string> numeric_columns;  ///< every column but the label column, in file order
  std::vector<double> values;                ///< (rows, numeric columns), row-major
  std::vector<std::string> labels;           ///< the label column, one entry per row (empty without one)
  std::vector<std::size_t> lines;            ///< the line of the file each row ends on (for messages)

  /// Position of `name` among numeric_columns, or -1.
  int numeric_index(const std::string& name) const;
};

/// Reads a CSV file. Every field of a numeric column must be a finite number. With a non-empty
/// `label_column`, that column is kept as text and must exist. Throws IoError naming the file, the
/// line and the column (number and name) of the first problem.
CsvTable read_csv(const std::string& path, const std::string& label_column = "");
/// The same from a stream (not seeked: pipes work); `name` names it in errors.
CsvTable read_csv(std::istream& in, const std::string& name, const std::string& label_column = "");

}  // namespace ngvi::io
