#include "io/csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "io/error.hpp"

namespace ngvi::io {
namespace {

std::string trim(const std::string& s) {
  const std::size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const std::size_t end = s.find_last_not_of(" \t");
  std::string field = s.substr(begin, end - begin + 1);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') field = field.substr(1, field.size() - 2);
  return field;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = line.find(',', begin);
    fields.push_back(trim(line.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin)));
    if (comma == std::string::npos) return fields;
    begin = comma + 1;
  }
}

bool next_line(std::ifstream& in, std::string* line) {
  if (!std::getline(in, *line)) return false;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

}  // namespace

int CsvTable::numeric_index(const std::string& name) const {
  const auto it = std::find(numeric_columns.begin(), numeric_columns.end(), name);
  return it == numeric_columns.end() ? -1 : static_cast<int>(it - numeric_columns.begin());
}

CsvTable read_csv(const std::string& path, const std::string& label_column) {
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: cannot be opened: {}", path, std::strerror(errno)));
  CsvTable table;
  std::string line;
  if (!next_line(in, &line) || trim(line).empty()) throw IoError(fmt::format("{}: empty file (a header line is expected)", path));
  table.columns = split(line);
  int label = -1;
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const std::string& name = table.columns[c];
    if (name.empty()) throw IoError(fmt::format("{}: line 1: column {} of the header has no name", path, c + 1));
    if (std::count(table.columns.begin(), table.columns.end(), name) > 1)
      throw IoError(fmt::format("{}: line 1: column name '{}' appears twice", path, name));
    if (name == label_column) label = static_cast<int>(c);
    else table.numeric_columns.push_back(name);
  }
  if (!label_column.empty() && label < 0)
    throw IoError(fmt::format("{}: no column named '{}' (the header is: {})", path, label_column, line));

  for (std::size_t number = 2; next_line(in, &line); ++number) {
    if (trim(line).empty()) continue;
    const std::vector<std::string> fields = split(line);
    if (fields.size() != table.columns.size())
      throw IoError(fmt::format("{}: line {} has {} fields but the header has {}", path, number, fields.size(),
                                table.columns.size()));
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (static_cast<int>(c) == label) {
        table.labels.push_back(fields[c]);
        continue;
      }
      const char* text = fields[c].c_str();
      char* end = nullptr;
      const double value = std::strtod(text, &end);
      if (fields[c].empty() || *end != '\0')
        throw IoError(fmt::format("{}: line {}, column '{}': '{}' is not a number", path, number, table.columns[c],
                                  fields[c]));
      if (!std::isfinite(value))
        throw IoError(fmt::format("{}: line {}, column '{}': {} is not a finite number", path, number,
                                  table.columns[c], fields[c]));
      table.values.push_back(value);
    }
    ++table.rows;
  }
  return table;
}

}  // namespace ngvi::io
