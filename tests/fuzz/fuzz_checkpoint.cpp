// libFuzzer target: the checkpoint reader (host/checkpoint_io.*). The first byte chooses between the
// bytes as they are (which the CRC-32 almost always refuses) and the bytes with a valid CRC-32
// appended, which reaches the header and array parsing behind the checksum. Any input must give a
// checkpoint or an ngvi::Error.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/checkpoint_io.hpp"
#include "ngvi/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::vector<char> bytes(data + 1, data + size);
  if (data[0] & 1) {
    const std::uint32_t crc = static_cast<std::uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
    const char* p = reinterpret_cast<const char*>(&crc);
    bytes.insert(bytes.end(), p, p + sizeof(crc));
  }
  try {
    (void)ngvi::detail::parse_checkpoint_info("fuzz", bytes);
    (void)ngvi::detail::parse_checkpoint<float>("fuzz", bytes);
  } catch (const ngvi::Error&) {
  }
  try {
    (void)ngvi::detail::parse_checkpoint<double>("fuzz", bytes);
  } catch (const ngvi::Error&) {
  }
  return 0;
}
