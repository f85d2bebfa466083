#include "cli/ranks.hpp"

#include <algorithm>
#include <cstdlib>

#if defined(NGVI_WITH_MPI)
#include <mpi.h>

#include <fmt/format.h>

#include <climits>

#include "cli/common.hpp"
#endif

namespace ngvi::cli {

#if defined(NGVI_WITH_MPI)
namespace {

// Open MPI, MPICH/Hydra and PMIx-based launchers (Slurm's srun) set one of these in every rank.
bool started_by_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

void check(int result, const char* call) {
  if (result != MPI_SUCCESS) throw InputError(fmt::format("MPI: {} failed (error {})", call, result));
}

}  // namespace

Ranks::Ranks() {
  if (!started_by_mpi_launcher()) return;
  int provided = 0;
  // One thread calls MPI; the fit's own threads never do.
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  joined_ = true;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

Ranks::~Ranks() {
  if (joined_) MPI_Finalize();
}

bool Ranks::all(bool ok) const {
  if (size_ == 1) return ok;
  int local = ok ? 1 : 0, every = 0;
  check(MPI_Allreduce(&local, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  return every == 1;
}

double Ranks::max(double value) const {
  if (size_ == 1) return value;
  double largest = 0;
  check(MPI_Allreduce(&value, &largest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return largest;
}

std::vector<char> Ranks::gather_bytes(const void* data, std::size_t bytes) const {
  const char* begin = static_cast<const char*>(data);
  if (size_ == 1) return std::vector<char>(begin, begin + bytes);
  // MPI counts are ints: a rank's part is sent in pieces of at most INT_MAX bytes.
  const unsigned long long local = bytes;
  std::vector<unsigned long long> sizes(rank_ == 0 ? size_ : 0);
  check(MPI_Gather(&local, 1, MPI_UNSIGNED_LONG_LONG, sizes.data(), 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD),
        "MPI_Gather");
  if (rank_ != 0) {
    for (std::size_t sent = 0; sent < bytes;) {
      const int piece = static_cast<int>(std::min<std::size_t>(bytes - sent, INT_MAX));
      check(MPI_Send(begin + sent, piece, MPI_BYTE, 0, 0, MPI_COMM_WORLD), "MPI_Send");
      sent += static_cast<std::size_t>(piece);
    }
    return {};
  }
  std::size_t total = 0;
  for (unsigned long long s : sizes) total += s;
  std::vector<char> out(total);
  std::copy(begin, begin + bytes, out.begin());
  std::size_t at = bytes;
  for (int r = 1; r < size_; ++r)
    for (std::size_t received = 0; received < sizes[r];) {
      const int piece = static_cast<int>(std::min<std::size_t>(sizes[r] - received, INT_MAX));
      check(MPI_Recv(out.data() + at, piece, MPI_BYTE, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
      received += static_cast<std::size_t>(piece);
      at += static_cast<std::size_t>(piece);
    }
  return out;
}

#else  // a build without MPI: always one rank

Ranks::Ranks() = default;
Ranks::~Ranks() = default;
bool Ranks::all(bool ok) const { return ok; }
double Ranks::max(double value) const { return value; }
std::vector<char> Ranks::gather_bytes(const void* data, std::size_t bytes) const {
  const char* begin = static_cast<const char*>(data);
  return std::vector<char>(begin, begin + bytes);
}

#endif

const Ranks& Ranks::world() {
  static const Ranks ranks;
  return ranks;
}

}  // namespace ngvi::cli
