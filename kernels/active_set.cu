// Active sets: the distributions a kernel works on, compacted after every step so that converged and
// failed distributions cost nothing in later steps (cub::DeviceSelect keeps the order).
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "cuda/error.hpp"
#include "cuda/kernels.hpp"

namespace ngvi::gpu {
namespace {

struct KeepsRunning {
  const Status* status;
  __device__ bool operator()(std::uint32_t i) const { return status[i] == Status::Running; }
};

struct WantsFinalElbo {
  const Status* status;
  __device__ bool operator()(std::uint32_t i) const {
    const Status s = status[i];
    return s != Status::InvalidData && s != Status::InvalidState && s != Status::ModelError;
  }
};

template <class Input, class Keep>
std::size_t scratch_bytes_for(Input input, Keep keep, int capacity) {
  std::size_t bytes = 0;
  NGVI_CUDA_TRY(cub::DeviceSelect::If(nullptr, bytes, input, static_cast<std::uint32_t*>(nullptr),
                                      static_cast<int*>(nullptr), capacity, keep));
  return bytes;
}

template <class Keep>
void select_with(Keep keep, const std::uint32_t* candidates, int n, std::uint32_t* out, int* count, void* scratch,
                 std::size_t scratch_bytes, cudaStream_t stream) {
  if (candidates) {
    NGVI_CUDA_TRY(cub::DeviceSelect::If(scratch, scratch_bytes, candidates, out, count, n, keep, stream));
  } else {
    NGVI_CUDA_TRY(cub::DeviceSelect::If(scratch, scratch_bytes, thrust::counting_iterator<std::uint32_t>(0), out,
                                        count, n, keep, stream));
  }
}

}  // namespace

std::size_t selection_scratch_bytes(int capacity) {
  const Status* none = nullptr;
  std::size_t bytes = 0;
  for (const std::size_t b :
       {scratch_bytes_for(static_cast<const std::uint32_t*>(nullptr), KeepsRunning{none}, capacity),
        scratch_bytes_for(thrust::counting_iterator<std::uint32_t>(0), KeepsRunning{none}, capacity),
        scratch_bytes_for(static_cast<const std::uint32_t*>(nullptr), WantsFinalElbo{none}, capacity),
        scratch_bytes_for(thrust::counting_iterator<std::uint32_t>(0), WantsFinalElbo{none}, capacity)})
    bytes = b > bytes ? b : bytes;
  return bytes;
}

void select(Selection selection, const Status* status, const std::uint32_t* candidates, int n, std::uint32_t* out,
            int* count, void* scratch, std::size_t scratch_bytes, cudaStream_t stream) {
  if (selection == Selection::Running) {
    select_with(KeepsRunning{status}, candidates, n, out, count, scratch, scratch_bytes, stream);
  } else {
    select_with(WantsFinalElbo{status}, candidates, n, out, count, scratch, scratch_bytes, stream);
  }
}

}  // namespace ngvi::gpu
