// Error checks for the CUDA backend: every CUDA runtime, cuBLAS and cuSOLVER call goes through one
// of the NGVI_*_TRY macros, which turn a failure into an ngvi::Error naming the call, the file and
// the line (never an abort). Device out-of-memory has its own type so that the scheduler can retry
// with smaller chunks.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

#include <string>

#include "ngvi/error.hpp"

namespace ngvi::gpu {

/// A failed CUDA, cuBLAS or cuSOLVER call.
class CudaError : public Error {
 public:
  explicit CudaError(const std::string& message) : Error(message) {}
};

/// A device allocation that did not fit: the caller may retry with less memory.
class CudaOutOfMemory : public CudaError {
 public:
  explicit CudaOutOfMemory(const std::string& message) : CudaError(message) {}
};

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cusolver_error(cusolverStatus_t status, const char* call, const char* file, int line);

/// The name of a cuSOLVER status, e.g. "CUSOLVER_STATUS_INVALID_VALUE".
const char* cusolver_status_name(cusolverStatus_t status);

}  // namespace ngvi::gpu

#define NGVI_CUDA_TRY(call)                                                                 \
  do {                                                                                      \
    const cudaError_t ngvi_cuda_error_ = (call);                                            \
    if (ngvi_cuda_error_ != cudaSuccess)                                                    \
      ::ngvi::gpu::throw_cuda_error(ngvi_cuda_error_, #call, __FILE__, __LINE__);  \
  } while (0)

/// After a kernel launch: reports a bad launch configuration under the kernel's name.
#define NGVI_CUDA_CHECK_LAUNCH(kernel_name)                                                          \
  do {                                                                                               \
    const cudaError_t ngvi_cuda_error_ = cudaGetLastError();                                         \
    if (ngvi_cuda_error_ != cudaSuccess)                                                             \
      ::ngvi::gpu::throw_cuda_error(ngvi_cuda_error_, "launch of " kernel_name, __FILE__, __LINE__); \
  } while (0)

#define NGVI_CUBLAS_TRY(call)                                                                   \
  do {                                                                                          \
    const cublasStatus_t ngvi_cublas_status_ = (call);                                          \
    if (ngvi_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                           \
      ::ngvi::gpu::throw_cublas_error(ngvi_cublas_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define NGVI_CUSOLVER_TRY(call)                                                                     \
  do {                                                                                              \
    const cusolverStatus_t ngvi_cusolver_status_ = (call);                                          \
    if (ngvi_cusolver_status_ != CUSOLVER_STATUS_SUCCESS)                                           \
      ::ngvi::gpu::throw_cusolver_error(ngvi_cusolver_status_, #call, __FILE__, __LINE__); \
  } while (0)
