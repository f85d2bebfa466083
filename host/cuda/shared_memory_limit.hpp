// Kernels' limits of dynamic shared memory, raised once per device and size and never lowered.
// cudaFuncSetAttribute changes a process-wide attribute: were each fit to set the size it needs, a
// fit in one thread could lower the limit between another fit's setting and its launch of the same
// kernel, which would then fail. Compiled by g++ and nvcc alike.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <utility>

namespace ngvi::gpu {

/// The limits of every kernel on every device.
class SharedMemoryLimits {
 public:
  /// Makes at least `bytes` allowed to `kernel` on `device`: calls allow(bytes) (which sets the
  /// attribute) unless as much is allowed already. Callers wait for each other; a throwing allow
  /// changes nothing.
  template <class Allow>
  void raise(const void* kernel, int device, std::size_t bytes, Allow&& allow) {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::size_t& allowed = allowed_[{kernel, device}];
    if (bytes <= allowed) return;
    allow(bytes);
    allowed = bytes;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<const void*, int>, std::size_t> allowed_;
};

}  // namespace ngvi::gpu
