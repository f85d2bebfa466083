// Warp-level helpers for kernels that give one warp to one distribution.
#pragma once

#include <cstddef>

namespace ngvi::gpu {

constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;

/// Sum of x over the warp, returned to every lane (butterfly: the same order on every lane).
template <class T>
__device__ __forceinline__ T warp_sum(T x) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

/// x as lane `source` holds it, on every lane.
template <class T>
__device__ __forceinline__ T from_lane(T x, int source = 0) {
  return __shfl_sync(kFullMask, x, source);
}

/// The warp's lanes as a math team (kernels/math/team.cuh): the lanes split a distribution's d x d
/// algebra, lane 0 leads.
struct WarpTeam {
  static constexpr int kSize = kWarpSize;
  int lane;
  __device__ int rank() const { return lane; }
  __device__ bool leader() const { return lane == 0; }
  __device__ void sync() const { __syncwarp(); }
  __device__ bool all(bool x) const { return __all_sync(kFullMask, x) != 0; }
  template <class V>
  __device__ V broadcast(V x) const {
    return from_lane(x);
  }
};

/// (i, j) with j <= i of the q-th entry of a lower triangle stored row by row: q = i (i + 1) / 2 + j.
__device__ __forceinline__ void lower_triangle_entry(int q, int& i, int& j) {
  i = static_cast<int>((sqrtf(8.0f * static_cast<float>(q) + 1.0f) - 1.0f) * 0.5f);
  while (i * (i + 1) / 2 > q) --i;
  while ((i + 1) * (i + 2) / 2 <= q) ++i;
  j = q - i * (i + 1) / 2;
}

/// Entries of a d x d lower triangle, diagonal included.
__host__ __device__ __forceinline__ int lower_triangle_size(int d) { return d * (d + 1) / 2; }

/// An odd row stride of at least n entries: rows read by different lanes at the same column then
/// fall in different shared-memory banks.
__host__ __device__ __forceinline__ int odd_stride(int n) { return n | 1; }

/// Rounds a count of entries up to a multiple of 4, so that areas carved one after another stay
/// 16-byte aligned (32-byte for double).
__host__ __device__ __forceinline__ std::size_t aligned_entries(std::size_t n) { return (n + 3) & ~std::size_t(3); }

}  // namespace ngvi::gpu
