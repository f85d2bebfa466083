// Checks of the arguments of the C ABI: array descriptors against the shape and dtype a call expects,
// pointers, flags and the enums that the C++ API does not check itself.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "guard.hpp"
#include "ngvi/ngvi.h"

namespace ngvi::capi {

template <class T>
constexpr ngvi_dtype dtype_of();
template <>
constexpr ngvi_dtype dtype_of<float>() { return NGVI_FLOAT32; }
template <>
constexpr ngvi_dtype dtype_of<double>() { return NGVI_FLOAT64; }
template <>
constexpr ngvi_dtype dtype_of<std::int32_t>() { return NGVI_INT32; }
template <>
constexpr ngvi_dtype dtype_of<std::int64_t>() { return NGVI_INT64; }

/// "float64", "int32", ... or the number of an unknown dtype.
std::string dtype_name(ngvi_dtype dtype);

/// A shape such as (B, d, d) with its values (rank 4 at most), for messages and sizes.
class Shape {
 public:
  Shape(const char* names, std::initializer_list<std::size_t> dims);
  /// Number of elements; throws CallError(NGVI_ERROR_SIZE) if it overflows size_t.
  std::size_t size() const;
  /// "(B, d, d) = (3, 2, 2)"
  std::string describe() const;

 private:
  const char* names_;
  std::array<std::size_t, 4> dims_{};
  std::size_t rank_ = 0;
};

/// Whether a descriptor is absent (data NULL and size 0).
template <class Array>
bool absent(const Array& a) {
  return a.data == nullptr && a.size == 0;
}

/// Throws CallError unless `a` is a host array of `expected` elements of type T (or absent, when
/// `optional` or when nothing is expected). `name` is the argument's name for messages.
template <class Array>
void check_array(const Array& a, const char* name, ngvi_dtype dtype, const Shape& shape, bool optional);

/// The data of an input array checked against T and `shape`; nullptr when absent and allowed.
template <class T>
const T* input(const ngvi_input_array& a, const char* name, const Shape& shape, bool optional = false) {
  check_array(a, name, dtype_of<T>(), shape, optional);
  return static_cast<const T*>(a.data);
}

/// The data of an output array checked against T and `shape`; nullptr when absent and allowed.
template <class T>
T* output(const ngvi_output_array& a, const char* name, const Shape& shape, bool optional = false) {
  check_array(a, name, dtype_of<T>(), shape, optional);
  return static_cast<T*>(a.data);
}

/// The data of an input array whose size picks one of several shapes (a value shared by all problems
/// or one per problem); nullptr when absent and `optional`. *chosen receives the index of the shape.
template <class T>
const T* input_one_of(const ngvi_input_array& a, const char* name, std::initializer_list<Shape> shapes, bool optional,
                      std::size_t* chosen = nullptr) {
  const Shape* match = &*shapes.begin();
  if (!absent(a))
    for (const Shape& s : shapes)
      if (s.size() == a.size) {
        match = &s;
        break;
      }
  if (!absent(a) && match->size() != a.size) {
    std::string expected;
    for (const Shape& s : shapes) expected += fmt::format("{}{}", expected.empty() ? "" : " or ", s.describe());
    throw CallError(NGVI_ERROR_SIZE, fmt::format("argument `{}` has {} elements, but the call needs shape {}", name,
                                                 a.size, expected));
  }
  if (chosen) *chosen = static_cast<std::size_t>(match - shapes.begin());
  return input<T>(a, name, *match, optional);
}

/// Throws CallError(NGVI_ERROR_NULL_POINTER) naming `name` if `p` is null.
inline void require_pointer(const void* p, const char* name) {
  if (p == nullptr) throw CallError(NGVI_ERROR_NULL_POINTER, fmt::format("argument `{}` is NULL", name));
}

/// Throws CallError(NGVI_ERROR_INVALID_ARGUMENT) unless `flag` is 0 or 1.
inline bool to_bool(std::int32_t flag, const char* name) {
  if (flag != 0 && flag != 1)
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT, fmt::format("{} = {} must be 0 or 1", name, flag));
  return flag == 1;
}

/// Throws CallError(NGVI_ERROR_STRUCT_SIZE) unless struct_size == expected; `name` is the field
/// ("options->struct_size") and `type` the struct ("ngvi_options").
void require_struct_size(std::size_t struct_size, std::size_t expected, const char* name, const char* type);

/// Writes `text` into a caller's buffer as snprintf would (at most buffer_size - 1 characters and a
/// NUL) and its untruncated length into *length (when not null). buffer may be NULL when buffer_size is 0.
void copy_text(const std::string& text, char* buffer, std::size_t buffer_size, std::size_t* length);

/// Throws CallError(NGVI_ERROR_DTYPE) unless `dtype` is NGVI_FLOAT32 or NGVI_FLOAT64.
void require_float_dtype(ngvi_dtype dtype, const char* name);

/// Throws CallError(NGVI_ERROR_INVALID_ARGUMENT) unless d >= 1.
void require_dimension(std::int32_t dimension);

/// Throws CallError(NGVI_ERROR_SIZE) naming `name` when B distributions of dimension d cannot exist:
/// their B d^2 matrix entries of `scalar_bytes` each exceed the address space (a size the caller got
/// wrong, e.g. a negative number passed as size_t), so that no allocation is even attempted.
void require_batch_size(std::size_t batch_size, std::int32_t dimension, std::size_t scalar_bytes, const char* name);

/// n + 1 (e.g. the B + 1 entries of offsets), or CallError(NGVI_ERROR_SIZE) naming `name` when it wraps.
std::size_t plus_one(std::size_t n, const char* name);

}  // namespace ngvi::capi
