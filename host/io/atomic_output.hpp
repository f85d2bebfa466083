// Outputs that appear complete or not at all: files are written under a temporary name in the
// destination's folder and renamed into place at the end, so that a failed or interrupted run never
// leaves a partial result that looks finished.
#pragma once

#include <filesystem>
#include <string>

namespace ngvi::io {

/// A directory of outputs staged in a hidden temporary sibling (".NAME.ngvi-tmp-PID-XXXXXX").
/// Staging directories are also removed when the process calls exit() (e.g. libgomp's fatal
/// errors), and those of processes that no longer exist (killed) by the next StagedDirectory of the
/// same name.
class StagedDirectory {
 public:
  /// Throws IoError if `path` cannot be the output: the name is empty, the parent folder does not
  /// exist, `path` exists and is not a directory, is a non-empty directory and `overwrite` is false,
  /// or is the current directory or one of its ancestors (which cannot be replaced). Creates nothing.
  static void check(const std::string& path, bool overwrite);
  /// check(), then creates the staging directory (removing stale ones left by killed runs).
  StagedDirectory(const std::string& path, bool overwrite);
  /// Removes the staging directory and everything in it unless commit() or keep() succeeded.
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  /// Where to write the output file `name` before commit().
  std::string file(const std::string& name) const;
  /// Renames the staging directory to `path`, replacing a previous one when `overwrite` allows.
  void commit();
  /// After a failure to write or commit: renames the staging directory to a visible sibling
  /// "NAME.partial-PID" that is kept, and returns its path (or throws IoError if even that fails).
  std::string keep();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool overwrite_;
  bool committed_ = false;
};

/// Whether `inner` is `outer` or lies inside it, comparing absolute paths with symbolic links and ".."
/// resolved as far as they exist (e.g. an input file inside an output directory).
bool path_within(const std::string& inner, const std::string& outer);

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace ngvi::io
