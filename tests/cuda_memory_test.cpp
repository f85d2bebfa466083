// The CUDA backend's memory decisions that need no device: how much the fused path's global areas
// and the batched path's workspace take, and the kernels' shared-memory limits shared by concurrent
// fits. Runs everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cuda/batched.hpp"
#include "cuda/kernels.hpp"
#include "cuda/shared_memory_limit.hpp"

namespace ngvi {
namespace {

TEST(CudaMemory, FusedGlobalAreasAreForTheWarpsALaunchStartsNotForTheWholeDevice) {
  // 132 multiprocessors, 3 blocks of 4 warps on each: 1584 resident warps.
  gpu::FusedConfig config;
  config.warps_per_block = 4;
  config.max_blocks = 3 * 132;
  config.area_entries = 1 << 20;
  config.shared_area = false;
  EXPECT_EQ(config.blocks(2), 1u);
  EXPECT_EQ(config.global_areas(2), 4u);  // B = 2: one block, not 1584 areas of 8 MB
  EXPECT_EQ(config.global_areas(9), 12u);
  EXPECT_EQ(config.blocks(1000000), 396u);
  EXPECT_EQ(config.global_areas(1000000), 1584u);
  config.shared_area = true;
  EXPECT_EQ(config.global_areas(1000000), 0u);
}

TEST(CudaMemory, TheBatchedWorkspaceFollowsTheMemoryBudget) {
  math::StepPlan plan;
  plan.d = 64;
  plan.samples = 16;
  const std::size_t rows = 256, capacity = 100000;
  const std::size_t one = gpu::BatchedStepper<float>::workspace_bytes(plan, rows, 0, capacity);  // one slot
  for (const std::size_t budget : {std::size_t(1) << 24, std::size_t(1) << 26, std::size_t(1) << 28}) {
    const std::size_t bytes = gpu::BatchedStepper<float>::workspace_bytes(plan, rows, budget, capacity);
    EXPECT_LE(bytes, budget + sizeof(int)) << budget;
    EXPECT_GT(bytes, budget / 2) << budget;  // and uses most of it
  }
  // Halving the budget (the out-of-memory retry) halves the workspace; never below one slot.
  EXPECT_LT(gpu::BatchedStepper<float>::workspace_bytes(plan, rows, std::size_t(1) << 24, capacity),
            gpu::BatchedStepper<float>::workspace_bytes(plan, rows, std::size_t(1) << 25, capacity));
  EXPECT_EQ(gpu::BatchedStepper<double>::workspace_bytes(plan, rows, 1, capacity),
            gpu::BatchedStepper<double>::workspace_bytes(plan, rows, 0, capacity));
  EXPECT_GT(one, 0u);
  // No more slots than distributions.
  EXPECT_EQ(gpu::BatchedStepper<float>::workspace_bytes(plan, rows, std::size_t(1) << 40, 3),
            3 * (one - sizeof(int)) + sizeof(int));
}

TEST(CudaMemory, SharedMemoryLimitsOnlyRiseOncePerKernelDeviceAndSize) {
  gpu::SharedMemoryLimits limits;
  const int kernels[2] = {0, 0};  // two distinct addresses stand for two kernels
  struct Request {
    const void* kernel;
    int device;
    std::size_t bytes;
  };
  // Fit t's r-th request: two kernels, three devices, sizes up and down.
  auto request = [&](int t, int r) {
    return Request{&kernels[(t + r) % 2], r % 3, std::size_t(1024) * ((t * 7 + r * 13) % 96)};
  };
  std::map<std::pair<const void*, int>, std::size_t> largest;
  for (int t = 0; t < 8; ++t)
    for (int r = 0; r < 200; ++r) {
      const Request q = request(t, r);
      largest[{q.kernel, q.device}] = std::max(largest[{q.kernel, q.device}], q.bytes);
    }
  std::map<std::pair<const void*, int>, std::vector<std::size_t>> set;  // guarded by the limits' lock
  std::vector<std::thread> fits;
  for (int t = 0; t < 8; ++t)
    fits.emplace_back([&, t] {
      for (int r = 0; r < 200; ++r) {
        const Request q = request(t, r);
        limits.raise(q.kernel, q.device, q.bytes,
                     [&](std::size_t allowed) { set[{q.kernel, q.device}].push_back(allowed); });
      }
    });
  for (std::thread& f : fits) f.join();
  ASSERT_EQ(set.size(), largest.size());
  for (const auto& [key, sizes] : set) {
    EXPECT_TRUE(std::is_sorted(sizes.begin(), sizes.end()));
    EXPECT_EQ(std::adjacent_find(sizes.begin(), sizes.end()), sizes.end()) << "a size set twice";
    EXPECT_EQ(sizes.back(), largest[key]);
  }
  // A failed setting (allow throws) leaves the limit where it was.
  EXPECT_THROW(limits.raise(&kernels[0], 7, 4096, [](std::size_t) { throw std::runtime_error("refused"); }),
               std::runtime_error);
  int calls = 0;
  limits.raise(&kernels[0], 7, 4096, [&](std::size_t) { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ngvi
