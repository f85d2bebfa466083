// Per-thread scratch memory, allocated once per call and never inside a step.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace ngvi::detail {

/// Alignment of scratch blocks and of the arrays carved from them.
inline constexpr std::size_t kScratchAlignment = 64;

/// n rounded up to a whole number of 64-byte lines of T.
template <class T>
constexpr std::size_t round_up_to_line(std::size_t n) {
  constexpr std::size_t per_line = kScratchAlignment / sizeof(T);
  return (n + per_line - 1) / per_line * per_line;
}

/// One block of `per_thread` entries for each of `threads` threads. Every block starts on a 64-byte
/// boundary, so vectorized code sees the same alignment in every thread: its results (the split
/// between SIMD and scalar elements) never depend on which thread ran a distribution.
template <class T>
class ThreadScratch {
 public:
  ThreadScratch(int threads, std::size_t per_thread)
      : stride_(round_up_to_line<T>(per_thread)), data_(allocate(static_cast<std::size_t>(threads) * stride_)) {}

  T* operator()(int thread) const { return data_.get() + static_cast<std::size_t>(thread) * stride_; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  static T* allocate(std::size_t n) {
    void* p = std::aligned_alloc(kScratchAlignment, round_up_to_line<T>(std::max<std::size_t>(n, 1)) * sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }

  std::size_t stride_;
  std::unique_ptr<T[], Free> data_;
};

}  // namespace ngvi::detail
