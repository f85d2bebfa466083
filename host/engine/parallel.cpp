#include "engine/parallel.hpp"

#include <fmt/format.h>

#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "ngvi/error.hpp"

namespace ngvi::detail {
namespace {

// The largest thread count known to start; libgomp keeps its threads, so a count once started
// needs no second probe.
std::atomic<int> g_started{1};

// Starts threads - 1 threads that end at once: what libgomp's first parallel region will do, but
// reporting a failure instead of calling exit(1).
void probe(int threads, int requested) {
  std::vector<std::thread> started;
  started.reserve(static_cast<std::size_t>(threads));
  try {
    for (int t = 1; t < threads; ++t) started.emplace_back([] {});
  } catch (const std::system_error& e) {
    const std::size_t count = started.size() + 1;
    for (std::thread& t : started) t.join();
    throw Error(fmt::format("options.num_threads = {}: cannot start {} threads (only {} could be: {}); ask for "
                            "fewer threads",
                            requested, threads, count, e.what()));
  }
  for (std::thread& t : started) t.join();
}

}  // namespace

int resolve_threads(int requested) {
  const int threads = requested > 0 ? requested : omp_get_max_threads();
  if (threads > g_started.load(std::memory_order_relaxed)) {
    probe(threads, requested);
    int known = g_started.load(std::memory_order_relaxed);
    while (known < threads && !g_started.compare_exchange_weak(known, threads, std::memory_order_relaxed)) {
    }
  }
  return threads;
}

}  // namespace ngvi::detail
