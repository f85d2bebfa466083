#include "cuda/device.hpp"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "cuda/error.hpp"

namespace ngvi::gpu {

std::string DeviceInfo::description() const {
  return fmt::format("CUDA device {}: {} (sm_{}{}, {} SMs)", id, name, compute_major, compute_minor, multiprocessors);
}

int usable_device_count(std::string* why) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    if (why) *why = fmt::format("cudaGetDeviceCount: {}", cudaGetErrorString(error));
    cudaGetLastError();  // clear the error so that it does not surface in a later call
    return 0;
  }
  if (count == 0 && why) *why = "cudaGetDeviceCount found no device";
  return count;
}

DeviceInfo current_device() {
  DeviceInfo info;
  NGVI_CUDA_TRY(cudaGetDevice(&info.id));
  cudaDeviceProp props;
  NGVI_CUDA_TRY(cudaGetDeviceProperties(&props, info.id));
  info.name = props.name;
  info.compute_major = props.major;
  info.compute_minor = props.minor;
  info.multiprocessors = props.multiProcessorCount;
  info.shared_memory_per_block = props.sharedMemPerBlockOptin;
  info.shared_memory_per_multiprocessor = props.sharedMemPerMultiprocessor;
  NGVI_CUDA_TRY(cudaMemGetInfo(&info.free_memory, &info.total_memory));
  return info;
}

}  // namespace ngvi::gpu
