// Sharding: how the scheduler deals a batch's distributions to several devices (GPUs, or CPU thread
// groups) and runs them side by side. A distribution's step depends on its own state, the step and
// the seed alone (the counter RNG), so any dealing gives bit for bit the same results.
#pragma once

#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace ngvi::detail {

/// Items [begin, end) of a list.
struct Shard {
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
};

/// Shard k of `count` items cut into `shards` contiguous ranges whose sizes differ by at most one (the
/// first ones larger); some are empty when count < shards. Computed, not stored: the CPU backend deals
/// every step without allocating.
inline Shard balanced_shard(std::size_t count, std::size_t shards, std::size_t k) {
  const std::size_t each = count / shards, extra = count % shards;
  const std::size_t begin = k * each + (k < extra ? k : extra);
  return {begin, begin + each + (k < extra ? 1 : 0)};
}

/// All `shards` of balanced_shard(count, shards, k), in order.
inline std::vector<Shard> balanced_shards(std::size_t count, std::size_t shards) {
  std::vector<Shard> out(shards);
  for (std::size_t k = 0; k < shards; ++k) out[k] = balanced_shard(count, shards, k);
  return out;
}

/// Calls body(k) for k in [0, shards), each on its own thread (shard 0 on the caller's), and waits
/// for all; rethrows the first exception, after every shard has ended.
template <class Body>
void for_each_shard(std::size_t shards, Body&& body) {
  if (shards == 1) return body(0);  // one device: no thread, no allocation
  std::vector<std::exception_ptr> errors(shards);
  auto run = [&](std::size_t k) {
    try {
      body(k);
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(shards > 0 ? shards - 1 : 0);
  try {
    for (std::size_t k = 1; k < shards; ++k) threads.emplace_back(run, k);
  } catch (...) {  // a thread that cannot start: end those that did
    for (std::thread& t : threads) t.join();
    throw;
  }
  if (shards > 0) run(0);
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace ngvi::detail
