// Threads over distributions for the CPU backend and the batch-wide conversions.
#pragma once

#include <omp.h>

#include <cstddef>
#include <cstdint>

namespace ngvi::detail {

/// Threads to use for a request of `requested` (0: all the hardware offers). Throws ngvi::Error when
/// that many threads cannot be started (e.g. under a memory limit): libgomp would end the process.
int resolve_threads(int requested);

/// Calls body(i, thread) for i in [0, n) on `threads` threads. Which thread runs which i varies;
/// callers make each i's work depend on i alone, so results never depend on the thread count.
/// `body` must not throw.
template <class Body>
void parallel_for(std::size_t n, int threads, Body&& body) {
  const std::int64_t count = static_cast<std::int64_t>(n);
#pragma omp parallel num_threads(threads) if (count > 1)
  {
    const int thread = omp_get_thread_num();
#pragma omp for schedule(dynamic, 16)
    for (std::int64_t i = 0; i < count; ++i) body(static_cast<std::size_t>(i), thread);
  }
}

}  // namespace ngvi::detail
