// libFuzzer target: the .npy reader (host/io/npy.*) on arbitrary bytes, then the conversions the
// command line applies to what it returns. Any input must give an array or an io::IoError.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "io/error.hpp"
#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const ngvi::io::NpyArray a = ngvi::io::read_npy(in, "fuzz.npy");
    (void)ngvi::io::shape_string(a.shape);
    if (a.dtype != ngvi::io::DType::Other) (void)a.to_double();
    if (ngvi::io::is_integer(a.dtype)) (void)a.to_int64();
  } catch (const ngvi::io::IoError&) {
  }
  return 0;
}
