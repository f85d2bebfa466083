// Finds, opens and checks the CUDA backend's module, libngvi_cuda.so, once per process. Where it is
// looked for: the file NGVI_CUDA_MODULE names, if set (and nothing else); else beside the binary that
// holds this code (libngvi.so, found with dladdr); else wherever the dynamic loader's search path
// finds it (LD_LIBRARY_PATH, the library's run path, the system's directories).
#pragma once

#include <string>

#include "cuda/module.hpp"

namespace ngvi::detail {

/// The environment variable naming the module's file, overriding the search.
inline constexpr const char* kCudaModuleVariable = "NGVI_CUDA_MODULE";

/// The CUDA backend, or null with why not in *why ("ngvi has no CUDA backend here: ..."). The first
/// call looks for the module; later calls give the same answer. Thread-safe; never throws.
const CudaModule* cuda_module(std::string* why);

/// Makes cuda_module() return the backend linked into this binary, without looking for a file. Call
/// before the first cuda_module(), from a static initializer (cuda/linked_module.cpp).
void link_cuda_module(const CudaModule& module);

}  // namespace ngvi::detail
