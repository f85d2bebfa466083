// Reading and writing checkpoints (the format is described in checkpoint_io.cpp).
#pragma once

#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "ngvi/checkpoint.hpp"

namespace ngvi::detail {

/// Writes the whole state of a fit atomically (a temporary file in the same directory, then a
/// rename). Throws ngvi::Error when the file cannot be written.
template <class T>
void write_checkpoint(const std::string& path, const FitPlan& plan, const GaussianBatch<T>& batch,
                      const FitState<T>& state);

/// A checkpoint read back: its header, and the batch's state and bookkeeping.
template <class T>
struct SavedFit {
  CheckpointInfo info;  ///< info.options.estimator as resolved by the fit that wrote it
  std::vector<T> mean, factor;
  FitState<T> state;
};

/// Reads and verifies a checkpoint whose scalars are T. Throws ngvi::Error naming the problem.
template <class T>
SavedFit<T> read_checkpoint(const std::string& path);

/// The same from the bytes of a checkpoint file; `name` names it in errors (the fuzz target's entry).
template <class T>
SavedFit<T> parse_checkpoint(const std::string& name, std::vector<char> bytes);
/// The header of a checkpoint's bytes, verified as read_checkpoint_info does.
CheckpointInfo parse_checkpoint_info(const std::string& name, std::vector<char> bytes);

}  // namespace ngvi::detail
