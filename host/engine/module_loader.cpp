#include "engine/module_loader.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>

#include "ngvi/version.hpp"

namespace ngvi::detail {
namespace {

// Constant-initialized, so that a static initializer of another file may set it.
const CudaModule* linked_module = nullptr;

struct Loaded {
  const CudaModule* module = nullptr;
  std::string why;  // empty when module is set
};

std::string no_backend(const std::string& reason) { return "ngvi has no CUDA backend here: " + reason; }

bool is_file(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// The directory of the binary that holds this code: libngvi.so's, or a program's that links it statically.
std::string own_directory() {
  Dl_info info;
  if (dladdr(reinterpret_cast<const void*>(&cuda_module), &info) == 0 || !info.dli_fname) return ".";
  const std::string file = info.dli_fname;
  const std::size_t slash = file.rfind('/');
  return slash == std::string::npos ? "." : file.substr(0, slash);
}

// Opens `file` (a path, or a bare name for the loader's search) and checks the module's entry point.
Loaded open_module(const std::string& file, const std::string& not_found) {
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const std::string error = dlerror();
    // A bare name the loader does not find at all: the module is missing. Anything else is a module
    // that is there but cannot be loaded, typically for want of the CUDA libraries it needs.
    if (file.find('/') == std::string::npos && error.rfind(file + ":", 0) == 0 &&
        error.find("No such file") != std::string::npos)
      return {nullptr, no_backend(not_found)};
    return {nullptr, no_backend(fmt::format("{} could not be loaded: {}", file, error))};
  }
  auto entry = reinterpret_cast<CudaModuleEntry>(dlsym(handle, kCudaModuleEntry));
  std::string path = file;
  Dl_info info;
  if (entry && dladdr(reinterpret_cast<const void*>(entry), &info) != 0 && info.dli_fname) path = info.dli_fname;
  if (!entry) {
    dlclose(handle);
    return {nullptr, no_backend(fmt::format("{} is not an ngvi CUDA module (it has no symbol {})", path,
                                            kCudaModuleEntry))};
  }
  static const EngineServices services{&after_iteration<float>,      &after_iteration<double>,
                                       &step_size_at,                 &monitor_device_steps<float>,
                                       &monitor_device_steps<double>, &monitored_step_size<float>,
                                       &monitored_step_size<double>};
  const char* built_for = "";
  const CudaModule* module = entry(kCudaModuleAbi, NGVI_VERSION_STRING, &services, &built_for);
  if (!module) {
    const std::string theirs = built_for;
    dlclose(handle);
    return {nullptr, no_backend(fmt::format("{} was built for {}, not for this library (ngvi {}, module ABI {})",
                                            path, theirs, NGVI_VERSION_STRING, kCudaModuleAbi))};
  }
  return {module, {}};
}

Loaded find_module() {
  if (linked_module) return {linked_module, {}};
  if (const char* named = std::getenv(kCudaModuleVariable); named && *named) {
    if (!is_file(named))
      return {nullptr, no_backend(fmt::format("{}={} is not a file", kCudaModuleVariable, named))};
    return open_module(named, {});
  }
  const std::string directory = own_directory();
  const std::string beside = directory + "/" + kCudaModuleFile;
  if (is_file(beside)) return open_module(beside, {});
  return open_module(kCudaModuleFile,
                     fmt::format("{} is neither in {} (beside libngvi) nor on the loader's search path; this ngvi "
                                 "was built without CUDA, or the module was not installed with it ({} may name "
                                 "its file)",
                                 kCudaModuleFile, directory, kCudaModuleVariable));
}

}  // namespace

void link_cuda_module(const CudaModule& module) { linked_module = &module; }

const CudaModule* cuda_module(std::string* why) {
  static const Loaded loaded = find_module();
  if (why) *why = loaded.why;
  return loaded.module;
}

}  // namespace ngvi::detail
