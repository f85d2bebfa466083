// NumPy .npy files (format versions 1 to 3): reading any plain numeric array in C order, writing
// float64 and int32 arrays. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
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

/// A .npy file opened for reading in order: the header at once, the data in chunks, so that a large
/// file can be converted without holding its bytes too, and pipes work (nothing seeks).
class NpyReader {
 public:
  /// Opens `path` and reads its header. Throws IoError naming the file when it is missing, is a
  /// directory, is not a .npy file, is in Fortran order, or (a regular file) is shorter than its shape
  /// needs.
  explicit NpyReader(const std::string& path);
  /// The same from a stream positioned at the start of the .npy bytes (not owned); `name` names it.
  NpyReader(std::istream& in, const std::string& name);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;

  DType dtype() const { return dtype_; }
  const std::string& descr() const { return descr_; }  ///< as the file spells it, e.g. "<f8"
  const std::vector<std::size_t>& shape() const { return shape_; }
  std::size_t size() const { return size_; }           ///< elements (checked not to overflow)
  std::size_t item_size() const;                       ///< bytes per element; 0 for DType::Other

  /// Reads the next `count` elements converted to Out (double, float or int64; the dtype must be
  /// integer for int64, where unsigned values above its range are refused), calling check(index, value)
  /// on each element read, in order, before it is converted. Throws IoError when the data ends early.
  template <class Out, class Check>
  void read(Out* out, std::size_t count, Check&& check);
  /// Reads the next `bytes` bytes of data as stored (native byte order).
  void read_bytes(unsigned char* out, std::size_t bytes);

 private:
  void read_header();

  std::string name_;
  std::istream* in_;
  std::unique_ptr<std::ifstream> file_;
  DType dtype_ = DType::Other;
  std::string descr_;
  std::vector<std::size_t> shape_;
  std::size_t size_ = 0;
  std::size_t consumed_ = 0;  ///< data bytes read so far
};

/// An array read whole from a .npy file: the elements in C order and native byte order.
struct NpyArray {
  DType dtype = DType::Other;
  std::string descr;  ///< the dtype as the file spells it, e.g. "<f8"
  std::vector<std::size_t> shape;
  std::vector<unsigned char> bytes;

  std::size_t size() const;
  /// The elements converted to double. Throws IoError for DType::Other.
  std::vector<double> to_double() const;
  /// The elements converted to int64. Throws IoError unless the dtype is an integer one or a value
  /// does not fit.
  std::vector<std::int64_t> to_int64() const;
};

/// Reads a .npy file whole (see NpyReader for the errors). Any dtype is accepted (DType::Other for the
/// unsupported ones), but the data of an unsupported dtype is not read.
NpyArray read_npy(const std::string& path);
/// The same from a stream positioned at the start of the .npy bytes; `name` names it in errors.
NpyArray read_npy(std::istream& in, const std::string& name);

/// Decodes `n` elements of `dtype` stored in native byte order. The int64 form throws IoError (naming
/// `name`) for a non-integer dtype or an unsigned value above INT64_MAX.
void decode(DType dtype, const unsigned char* bytes, std::size_t n, double* out);
void decode(DType dtype, const unsigned char* bytes, std::size_t n, std::int64_t* out, const std::string& name);

template <class Out, class Check>
void NpyReader::read(Out* out, std::size_t count, Check&& check) {
  using Decoded = std::conditional_t<std::is_integral_v<Out>, std::int64_t, double>;
  constexpr std::size_t kChunk = 1 << 14;
  const std::size_t width = item_size();
  std::vector<unsigned char> raw(kChunk * width);
  std::vector<Decoded> values(kChunk);
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(kChunk, count - done);
    const std::size_t first = consumed_ / width;
    read_bytes(raw.data(), n * width);
    if constexpr (std::is_integral_v<Out>) decode(dtype_, raw.data(), n, values.data(), name_);
    else decode(dtype_, raw.data(), n, values.data());
    for (std::size_t k = 0; k < n; ++k) {
      check(first + k, values[k]);
      out[done + k] = static_cast<Out>(values[k]);
    }
    done += n;
  }
}

/// Writes a C-order float64 or int32 array (float data is written as float64). Throws IoError when the
/// file cannot be written.
void write_npy(const std::string& path, const double* data, const std::vector<std::size_t>& shape);
void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape);
void write_npy(const std::string& path, const std::int32_t* data, const std::vector<std::size_t>& shape);

}  // namespace ngvi::io
