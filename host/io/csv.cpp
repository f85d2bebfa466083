#include "io/csv.hpp"

#include <csv.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "io/error.hpp"

namespace ngvi::io {
namespace {

// Cells that spreadsheets and data frames write for a missing value.
bool is_missing(const std::string& text) {
  static const std::array<const char*, 9> kMissing = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "?", "-"};
  return std::find(kMissing.begin(), kMissing.end(), text) != kMissing.end();
}

// Builds the table from libcsv's callbacks: one per field, one per record.
class TableBuilder {
 public:
  TableBuilder(const std::string& name, const std::string& label_column)
      : name_(name), label_column_(label_column) {}

  void field(const char* data, std::size_t size) { fields_.emplace_back(data ? data : "", data ? size : 0); }

  void record() {
    const bool blank = fields_.size() == 1 && fields_[0].empty();  // a line of spaces
    if (!header_done_) header();
    else if (!blank) row();
    fields_.clear();
  }

  void set_line(std::size_t line) { line_ = line; }
  CsvTable take() {
    if (!header_done_) throw IoError(fmt::format("{}: empty file (a header line is expected)", name_));
    return std::move(table_);
  }

 private:
  std::string where(std::size_t column) const {
    return fmt::format("{}: line {}, column {} ('{}')", name_, line_, column + 1, table_.columns[column]);
  }

  void header() {
    table_.columns = fields_;
    for (std::size_t c = 0; c < table_.columns.size(); ++c) {
      const std::string& name = table_.columns[c];
      if (name.empty()) throw IoError(fmt::format("{}: line {}: column {} of the header has no name", name_, line_, c + 1));
      if (std::count(table_.columns.begin(), table_.columns.end(), name) > 1)
        throw IoError(fmt::format("{}: line {}: column name '{}' appears twice", name_, line_, name));
      if (name == label_column_) label_ = static_cast<int>(c);
      else table_.numeric_columns.push_back(name);
    }
    if (!label_column_.empty() && label_ < 0) {
      std::string header;
      for (const std::string& c : table_.columns) header += (header.empty() ? "'" : ", '") + c + "'";
      throw IoError(fmt::format("{}: no column named '{}' (the header's columns are {})", name_, label_column_, header));
    }
    header_done_ = true;
  }

  void row() {
    if (fields_.size() != table_.columns.size())
      throw IoError(fmt::format("{}: line {} has {} fields but the header has {}", name_, line_, fields_.size(),
                                table_.columns.size()));
    for (std::size_t c = 0; c < fields_.size(); ++c) {
      const std::string& text = fields_[c];
      if (static_cast<int>(c) == label_) {
        table_.labels.push_back(text);
        continue;
      }
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      if (is_missing(text) || (std::isnan(value) && *end == '\0'))
        throw IoError(fmt::format("{}: '{}' is a missing value, which ngvi cannot fit (remove the row or fill the cell)",
                                  where(c), text));
      if (*end != '\0' || text.size() != std::strlen(text.c_str()))
        throw IoError(fmt::format("{}: '{}' is not a number", where(c), text));
      if (!std::isfinite(value)) throw IoError(fmt::format("{}: {} is not a finite number", where(c), text));
      table_.values.push_back(value);
    }
    table_.lines.push_back(line_);
    ++table_.rows;
  }

  const std::string& name_;
  const std::string& label_column_;
  CsvTable table_;
  std::vector<std::string> fields_;
  bool header_done_ = false;
  int label_ = -1;
  std::size_t line_ = 1;
};

extern "C" void on_field(void* data, std::size_t size, void* builder) {
  static_cast<TableBuilder*>(builder)->field(static_cast<const char*>(data), size);
}
extern "C" void on_record(int, void* builder) { static_cast<TableBuilder*>(builder)->record(); }

struct ParserDeleter {
  void operator()(csv_parser* p) const {
    csv_free(p);
    delete p;
  }
};

}  // namespace

int CsvTable::numeric_index(const std::string& name) const {
  const auto it = std::find(numeric_columns.begin(), numeric_columns.end(), name);
  return it == numeric_columns.end() ? -1 : static_cast<int>(it - numeric_columns.begin());
}

CsvTable read_csv(std::istream& in, const std::string& name, const std::string& label_column) {
  std::unique_ptr<csv_parser, ParserDeleter> parser(new csv_parser);
  if (csv_init(parser.get(), CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
    throw IoError(fmt::format("{}: the CSV parser cannot start", name));
  TableBuilder builder(name, label_column);
  // Fed a line at a time, so that a record's callbacks know the line they end on.
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 byte order mark
    if (!in.eof()) line.push_back('\n');
    builder.set_line(number);
    if (csv_parse(parser.get(), line.data(), line.size(), on_field, on_record, &builder) != line.size())
      throw IoError(fmt::format("{}: line {}: {} (a quote inside an unquoted field, or text after a closing quote)",
                                name, number, csv_strerror(csv_error(parser.get()))));
  }
  if (in.bad()) throw IoError(fmt::format("{}: read failed: {}", name, std::strerror(errno)));
  if (csv_fini(parser.get(), on_field, on_record, &builder) != 0)
    throw IoError(fmt::format("{}: the file ends inside a quoted field (a quote is not closed)", name));
  return builder.take();
}

CsvTable read_csv(const std::string& path, const std::string& label_column) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    throw IoError(fmt::format("{}: is a directory, not a CSV file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot be opened: {}", path, std::strerror(errno)));
  return read_csv(in, path, label_column);
}

}  // namespace ngvi::io
