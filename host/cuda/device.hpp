// The CUDA device a fit runs on: whether one is present, and the limits that size launches and chunks.
#pragma once

#include <cstddef>
#include <string>

namespace ngvi::gpu {

struct DeviceInfo {
  int id = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
  std::size_t shared_memory_per_block = 0;  ///< the opt-in maximum of dynamic shared memory per block
  std::size_t shared_memory_per_multiprocessor = 0;
  std::size_t free_memory = 0;              ///< at the time of the query
  std::size_t total_memory = 0;

  /// e.g. "CUDA device 0: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)".
  std::string description() const;
};

/// Number of CUDA devices this process can use; 0 when there is none or no driver, with the runtime's
/// reason in *why. Never throws.
int usable_device_count(std::string* why);

/// The current device (cudaGetDevice) and its limits; throws CudaError on failure.
DeviceInfo current_device();

}  // namespace ngvi::gpu
