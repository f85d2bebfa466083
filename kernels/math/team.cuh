// Who runs one distribution's dense algebra: the CPU backend's single thread (SerialTeam) or the 32
// lanes of a fused kernel's warp (gpu::WarpTeam, kernels/cuda/warp.cuh). The functions of dense.cuh,
// the full-family rules and kl_full take a team and split their independent loops over its members
// (member `rank()` takes indices rank, rank + kSize, ...). Every entry keeps the order of operations
// of the serial loop, so the split changes no result; a team function returns with the team
// synchronized and with the same decision on every member.
#pragma once

#include "config.cuh"

namespace ngvi::math {

/// A team of one: every loop whole, sync() empty. The default of every team function.
struct SerialTeam {
  static constexpr int kSize = 1;
  NGVI_HD int rank() const { return 0; }
  /// The member that writes what one writer must (bookkeeping, vector solves).
  NGVI_HD bool leader() const { return true; }
  NGVI_HD void sync() const {}
  /// Whether x holds on every member.
  NGVI_HD bool all(bool x) const { return x; }
  /// The leader's x, on every member.
  template <class V>
  NGVI_HD V broadcast(V x) const {
    return x;
  }
};

}  // namespace ngvi::math
