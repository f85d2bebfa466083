/// @file checkpoint.hpp
/// @brief Checkpoints: a fit's whole state on disk, and resuming from it bit for bit.
///
/// A fit with Options::checkpoint_path set writes its state (parameters, step counters, statuses,
/// step sizes, rule moments, the options that decide the results, and the step number, which is the
/// position of its counter-based random numbers) every Options::checkpoint_every steps and when it
/// is stopped by its progress callback (the command line stops it on SIGINT and SIGTERM). Files are
/// written to a temporary name and renamed, so a checkpoint is always whole; they carry a format
/// version and a CRC-32, and a truncated or corrupted file is refused with a message saying so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ngvi/export.hpp"
#include "ngvi/family.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/model.hpp"
#include "ngvi/options.hpp"

namespace ngvi {

/// @brief What a checkpoint holds, read without loading its arrays.
struct NGVI_API CheckpointInfo {
  std::uint32_t format_version = 0;
  int scalar_bytes = 0;  ///< 4 (float) or 8 (double)
  std::size_t batch_size = 0;
  int dimension = 0;
  Family family = Family::Full;
  int iteration = 0;     ///< steps the batch had taken
  Options options;       ///< the options that decide the results (execution settings left at defaults)
  std::uint64_t model_fingerprint = 0;  ///< Model::fingerprint() of the fitted model (0: unknown)
};

/// @brief Reads and verifies a checkpoint's header and checksum. Throws ngvi::Error naming the file
/// and what is wrong (missing, not a checkpoint, newer format, truncated, corrupted).
NGVI_API CheckpointInfo read_checkpoint_info(const std::string& path);

/// @brief Continues the fit saved in `path`. The batch must have the checkpoint's size, dimension and
/// family, and `model` the fingerprint of the model the checkpoint was made from (Model::fingerprint;
/// other data is refused); its contents are replaced by the saved state. The results are decided by the saved
/// options; from `options` only the execution settings are taken (num_threads, backend, devices, progress,
/// checkpoint_path, checkpoint_every). A resumed fit ends exactly as the uninterrupted one would have.
template <class T>
NGVI_API Summary resume(const Model<T>& model, GaussianBatch<T>& batch, const std::string& path,
                        const Options& options = Options());

extern template NGVI_API Summary resume<float>(const Model<float>&, GaussianBatch<float>&, const std::string&,
                                               const Options&);
extern template NGVI_API Summary resume<double>(const Model<double>&, GaussianBatch<double>&, const std::string&,
                                                const Options&);

}  // namespace ngvi
