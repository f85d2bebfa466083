// Threads over distributions for the CPU backend and the batch-wide conversions.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ngvi::detail {

/// Threads to use for a request of `requested` (0: all the hardware offers). Throws ngvi::Error when
/// that many threads cannot be started (e.g. under a memory limit): libgomp would end the process.
int resolve_threads(int requested);

/// Items a thread takes at a time in parallel_for.
inline constexpr std::size_t kParallelChunk = 16;

/// The threads parallel_for runs n items on when given `threads`: no more than there are chunks of
/// items, so that a small batch does not wake (and, on a loaded machine, wait for) idle threads.
inline int threads_for(std::size_t n, int threads) {
  const std::size_t chunks = (n + kParallelChunk - 1) / kParallelChunk;
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), chunks)));
}

/// Calls body(i, thread) for i in [0, n) on threads_for(n, threads) threads (thread < threads). Which
/// thread runs which i varies; callers make each i's work depend on i alone, so results never depend
/// on the thread count. `body` must not throw.
template <class Body>
void parallel_for(std::size_t n, int threads, Body&& body) {
  const std::int64_t count = static_cast<std::int64_t>(n);
  const int used = threads_for(n, threads);
#pragma omp parallel num_threads(used) if (used > 1)
  {
    const int thread = omp_get_thread_num();
#pragma omp for schedule(dynamic, kParallelChunk)
    for (std::int64_t i = 0; i < count; ++i) body(static_cast<std::size_t>(i), thread);
  }
}

}  // namespace ngvi::detail
