// libFuzzer target: the CSV reader (host/io/csv.*, libcsv underneath) on arbitrary bytes, with a label
// column as `ngvi fit --csv` reads it. Any input must give a table whose sizes agree, or an io::IoError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "io/csv.hpp"
#include "io/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const ngvi::io::CsvTable t = ngvi::io::read_csv(in, "fuzz.csv", "problem");
    if (t.labels.size() != t.rows || t.lines.size() != t.rows || t.values.size() != t.rows * t.numeric_columns.size() ||
        t.numeric_columns.size() + 1 != t.columns.size())
      std::abort();
  } catch (const ngvi::io::IoError&) {
  }
  return 0;
}
