#include "io/atomic_output.hpp"

#include <fmt/format.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <system_error>

#include "io/error.hpp"

namespace fs = std::filesystem;

namespace ngvi::io {
namespace {

fs::path parent_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// A fresh, empty, uniquely named directory `.NAME.ngvi-KIND-PID-XXXXXX` beside `path`; the PID tells
// a later run whether its owner is gone.
fs::path make_sibling_directory(const fs::path& path, const char* kind) {
  std::string pattern =
      (parent_of(path) / fmt::format(".{}.ngvi-{}-{}-XXXXXX", path.filename().string(), kind, ::getpid())).string();
  if (!mkdtemp(pattern.data()))
    throw IoError(fmt::format("{}: cannot create a directory in {}: {}", path.string(), parent_of(path).string(),
                              std::strerror(errno)));
  return pattern;
}

// Removes the staging and set-aside directories of `path` whose process no longer exists.
void remove_stale_siblings(const fs::path& path) {
  const std::string prefix = "." + path.filename().string() + ".ngvi-";
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(parent_of(path), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    // KIND-PID-XXXXXX after the prefix; names without a PID (older versions) are left alone.
    const std::size_t dash = name.find('-', prefix.size());
    if (dash == std::string::npos) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + dash + 1, &end, 10);
    if (pid <= 0 || *end != '-' || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

// The staging directories of this process, removed by exit() if their owner never ran its destructor.
std::mutex g_staging_mutex;
std::set<fs::path> g_staging;

extern "C" void remove_staging_at_exit() {
  std::lock_guard<std::mutex> lock(g_staging_mutex);
  std::error_code ec;
  for (const fs::path& p : g_staging) fs::remove_all(p, ec);
  g_staging.clear();
}

void track(const fs::path& staging, bool add) {
  static const bool registered = std::atexit(remove_staging_at_exit) == 0;
  (void)registered;
  std::lock_guard<std::mutex> lock(g_staging_mutex);
  if (add) g_staging.insert(staging);
  else g_staging.erase(staging);
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

// "out/" names "out".
fs::path target_of(const std::string& path) {
  fs::path target = fs::path(path).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  return target;
}

}  // namespace

void StagedDirectory::check(const std::string& path, bool overwrite) {
  if (path.empty()) throw IoError("the output directory name is empty");
  const fs::path target = target_of(path);
  std::error_code ec;
  const fs::path parent = parent_of(target);
  if (!fs::is_directory(parent, ec))
    throw IoError(fmt::format("{}: the parent folder {} does not exist", path, parent.string()));
  if (path_within(fs::current_path(ec).string(), target.string()))
    throw IoError(fmt::format("{}: is the current directory or contains it, which cannot be replaced; name a new "
                              "directory",
                              path));
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) throw IoError(fmt::format("{}: exists and is not a directory", path));
    if (!overwrite && !is_empty_directory(target))
      throw IoError(fmt::format("{}: directory exists and is not empty (pass --overwrite to replace it)", path));
  }
}

StagedDirectory::StagedDirectory(const std::string& path, bool overwrite) : overwrite_(overwrite) {
  check(path, overwrite);
  target_ = target_of(path);
  remove_stale_siblings(target_);
  staging_ = make_sibling_directory(target_, "tmp");
  track(staging_, true);
  set_default_permissions(staging_, 0777);
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;  // best effort: a destructor must not throw
  fs::remove_all(staging_, ec);
  track(staging_, false);
}

std::string StagedDirectory::file(const std::string& name) const { return (staging_ / name).string(); }

std::string StagedDirectory::keep() {
  // Beside the target, named as the user named it (no "./" prefix for a bare name).
  const fs::path kept = target_.parent_path() / fmt::format("{}.partial-{}", target_.filename().string(), ::getpid());
  std::error_code ec;
  fs::remove_all(kept, ec);
  if (std::rename(staging_.c_str(), kept.c_str()) != 0)
    throw IoError(fmt::format("{}: cannot be kept as {}: {}", staging_.string(), kept.string(), std::strerror(errno)));
  track(staging_, false);
  committed_ = true;
  return kept.string();
}

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
    track(staging_, false);
    fs::remove_all(old, ec);
    return;
  }
  if (std::rename(staging_.c_str(), target_.c_str()) != 0)
    throw IoError(fmt::format("{}: cannot be written: {}", target_.string(), std::strerror(errno)));
  committed_ = true;
  track(staging_, false);
}

bool path_within(const std::string& inner, const std::string& outer) {
  std::error_code ec;
  const fs::path i = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  const fs::path o = fs::weakly_canonical(fs::absolute(outer, ec), ec);
  auto it = i.begin();
  for (const fs::path& part : o) {
    if (part.empty()) continue;  // the trailing "" of "dir/"
    if (it == i.end() || *it != part) return false;
    ++it;
  }
  return true;
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
