// Linked into a binary that carries the CUDA backend's objects itself (the CUDA test suites): the
// scheduler then uses this copy, with the binary's own engine and tuning, and opens no module.
#include "cuda/module.hpp"
#include "engine/module_loader.hpp"

namespace {
const bool linked = (ngvi::detail::link_cuda_module(ngvi::detail::cuda_backend_module()), true);
}
