// The ranks of the MPI job `ngvi fit` runs in (`mpirun -n R ngvi fit ...`): each rank fits a
// contiguous shard of the problems and rank 0 gathers the results and writes them. A process not
// started by an MPI launcher, or a build without MPI, is a job of one rank.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

namespace ngvi::cli {

class Ranks {
 public:
  /// The job this process belongs to; joins MPI on first use when an MPI launcher started the process
  /// (it then stays joined until the process ends).
  static const Ranks& world();

  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Whether `ok` holds on every rank. Collective: every rank must call it.
  bool all(bool ok) const;
  /// The largest of every rank's `value`. Collective.
  double max(double value) const;

  /// Rank 0: every rank's `local`, concatenated in rank order; other ranks: empty. Collective.
  template <class T>
  std::vector<T> gather(const std::vector<T>& local) const {
    static_assert(std::is_trivially_copyable_v<T>);
    const std::vector<char> bytes = gather_bytes(local.data(), local.size() * sizeof(T));
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }

  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;
  ~Ranks();

 private:
  Ranks();
  std::vector<char> gather_bytes(const void* data, std::size_t bytes) const;

  int rank_ = 0;
  int size_ = 1;
  bool joined_ = false;
};

}  // namespace ngvi::cli
