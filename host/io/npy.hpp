// NumPy .npy files (format versions 1 to 3): reading any plain numeric array in C order, writing
// float64 and int32 arrays. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ngvi::io {

/// The element types a .npy file may hold that ngvi reads; Other for every other one (complex,
/// strings, objects, float16, ...), which callers reject by name.
enum class DType { Float32, Float64, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Bool, Other };

/// NumPy's name of a dtype ("float32", "int64", ...).
const char* dtype_name(DType dtype);
bool is_floating(DType dtype);
bool is_integer(DType dtype);  ///< bool included

/// "(2, 3, 4)", as NumPy prints a shape.
std::string shape_string(const std::vector<std::size_t>& shape);

/// An array read from a .npy file: the elements in C order and native byte order.
struct NpyArray {
  DType dtype = DType::Other;
  std::string descr;  ///< the dtype as the file spells it, e.g. "<f8"
  std::vector<std::size_t> shape;
  std::vector<unsigned char> bytes;

  std::size_t size() const;
  /// The elements converted to double. Throws IoError for DType::Other.
  std::vector<double> to_double() const;
  /// The elements converted to int64. Throws IoError unless the dtype is an integer one.
  std::vector<std::int64_t> to_int64() const;
};

/// Reads a .npy file. Throws IoError naming the file when it is missing, is not a .npy file, is in
/// Fortran order, or is truncated. Any dtype is accepted (DType::Other for the unsupported ones),
/// but the data of an unsupported dtype is not read.
NpyArray read_npy(const std::string& path);

/// Writes a C-order float64 or int32 array. Throws IoError when the file cannot be written.
void write_npy(const std::string& path, const double* data, const std::vector<std::size_t>& shape);
void write_npy(const std::string& path, const std::int32_t* data, const std::vector<std::size_t>& shape);

}  // namespace ngvi::io
