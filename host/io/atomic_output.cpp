#include "io/atomic_output.hpp"

#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "io/error.hpp"

namespace fs = std::filesystem;

namespace ngvi::io {
namespace {

fs::path parent_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// A fresh, empty, uniquely named directory `.NAME.ngvi-KIND-XXXXXX` beside `path`.
fs::path make_sibling_directory(const fs::path& path, const char* kind) {
  std::string pattern = (parent_of(path) / fmt::format(".{}.ngvi-{}-XXXXXX", path.filename().string(), kind)).string();
  if (!mkdtemp(pattern.data()))
    throw IoError(fmt::format("{}: cannot create a directory in {}: {}", path.string(), parent_of(path).string(),
                              std::strerror(errno)));
  return pattern;
}

// mkdtemp and mkstemp create private entries (0700, 0600); outputs get what the umask gives any file.
void set_default_permissions(const fs::path& path, unsigned bits) {
  const mode_t mask = umask(0);
  umask(mask);
  std::error_code ec;
  fs::permissions(path, static_cast<fs::perms>(bits & ~mask), ec);
}

bool is_empty_directory(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec);
}

}  // namespace

StagedDirectory::StagedDirectory(const std::string& path, bool overwrite) : overwrite_(overwrite) {
  if (path.empty()) throw IoError("the output directory name is empty");
  target_ = fs::path(path).lexically_normal();
  if (target_.filename().empty()) target_ = target_.parent_path();  // "out/" names "out"
  std::error_code ec;
  const fs::path parent = parent_of(target_);
  if (!fs::is_directory(parent, ec))
    throw IoError(fmt::format("{}: the parent folder {} does not exist", path, parent.string()));
  if (fs::exists(target_, ec)) {
    if (!fs::is_directory(target_, ec)) throw IoError(fmt::format("{}: exists and is not a directory", path));
    if (!overwrite_ && !is_empty_directory(target_))
      throw IoError(fmt::format("{}: directory exists and is not empty (pass --overwrite to replace it)", path));
  }
  staging_ = make_sibling_directory(target_, "tmp");
  set_default_permissions(staging_, 0777);
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;  // best effort: a destructor must not throw
  fs::remove_all(staging_, ec);
}

std::string StagedDirectory::file(const std::string& name) const { return (staging_ / name).string(); }

void StagedDirectory::commit() {
  std::error_code ec;
  if (fs::exists(target_, ec) && !is_empty_directory(target_)) {
    if (!overwrite_)
      throw IoError(fmt::format("{}: directory appeared during the run and is not empty", target_.string()));
    // Move the old directory aside (onto an empty placeholder, which rename may replace), put the new
    // one in place, then delete the old one.
    const fs::path old = make_sibling_directory(target_, "old");
    if (std::rename(target_.c_str(), old.c_str()) != 0) {
      const int error = errno;
      fs::remove(old, ec);
      throw IoError(fmt::format("{}: cannot be replaced: {}", target_.string(), std::strerror(error)));
    }
    if (std::rename(staging_.c_str(), target_.c_str()) != 0) {
      const int error = errno;
      std::rename(old.c_str(), target_.c_str());
      throw IoError(fmt::format("{}: cannot be written: {}", target_.string(), std::strerror(error)));
    }
    committed_ = true;
    fs::remove_all(old, ec);
    return;
  }
  if (std::rename(staging_.c_str(), target_.c_str()) != 0)
    throw IoError(fmt::format("{}: cannot be written: {}", target_.string(), std::strerror(errno)));
  committed_ = true;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  std::string temporary =
      (parent_of(target) / fmt::format(".{}.ngvi-tmp-XXXXXX", target.filename().string())).string();
  const int fd = mkstemp(temporary.data());
  if (fd < 0) throw IoError(fmt::format("{}: cannot be created: {}", path, std::strerror(errno)));
  close(fd);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      throw IoError(fmt::format("{}: write failed", path));
    }
  }
  set_default_permissions(temporary, 0666);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    throw IoError(fmt::format("{}: cannot be written: {}", path, std::strerror(error)));
  }
}

}  // namespace ngvi::io
