// Checksums of what decides a model's results, saved in checkpoints so that resuming a fit on other
// data or another model of the same shape is refused (Model::fingerprint).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "ngvi/prior.hpp"

namespace ngvi::detail {

/// CRC-32 of every byte added, and how many there were: 64 bits that differ when the data does.
class Fingerprint {
 public:
  void add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const Bytef*>(data);
    length_ += bytes;
    while (bytes > 0) {  // zlib takes uInt lengths
      const uInt chunk = static_cast<uInt>(std::min<std::size_t>(bytes, 1u << 30));
      crc_ = crc32(crc_, p, chunk);
      p += chunk;
      bytes -= chunk;
    }
  }
  template <class V>
  void add_values(const V* values, std::size_t n) {
    if (n > 0) add(values, n * sizeof(V));
  }
  template <class V>
  void add_value(V value) {
    add(&value, sizeof value);
  }
  /// Never 0, which means "unknown" to the checkpoint reader.
  std::uint64_t value() const { return (static_cast<std::uint64_t>(length_ & 0xffffffffu) << 32 | crc_) | 1u; }

 private:
  uLong crc_ = crc32(0L, Z_NULL, 0);
  std::uint64_t length_ = 0;
};

/// Adds a prior, problem by problem, as the models see it.
template <class T>
void add_prior(Fingerprint& f, const Prior<T>& prior, std::size_t num_problems, int dimension) {
  const auto kind = prior.kind();
  f.add_value(static_cast<int>(kind));
  if (kind == Prior<T>::Kind::None) return;
  const std::size_t d = static_cast<std::size_t>(dimension);
  for (std::size_t b = 0; b < num_problems; ++b) {
    f.add_values(prior.precision(b), kind == Prior<T>::Kind::Full ? d * d : 1);
    const T* mean = prior.mean(b, dimension);
    f.add_value(mean != nullptr);
    if (mean) f.add_values(mean, d);
  }
}

}  // namespace ngvi::detail
