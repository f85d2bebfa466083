// Outputs that appear complete or not at all: files are written under a temporary name in the
// destination's folder and renamed into place at the end, so that a failed or interrupted run never
// leaves a partial result that looks finished.
#pragma once

#include <filesystem>
#include <string>

namespace ngvi::io {

/// A directory of outputs staged in a hidden temporary sibling (".NAME.ngvi-tmp-XXXXXX").
class StagedDirectory {
 public:
  /// Creates the staging directory. Throws IoError if the parent folder does not exist or is not
  /// writable, if `path` exists and is not a directory, or if it is a non-empty directory and
  /// `overwrite` is false: all before any work is done.
  StagedDirectory(const std::string& path, bool overwrite);
  /// Removes the staging directory and everything in it unless commit() succeeded.
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  /// Where to write the output file `name` before commit().
  std::string file(const std::string& name) const;
  /// Renames the staging directory to `path`, replacing a previous one when `overwrite` allows.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool overwrite_;
  bool committed_ = false;
};

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace ngvi::io
