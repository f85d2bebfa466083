// Owners of device memory, pinned host memory and streams (RAII), and checked asynchronous copies.
// Destructors never throw: a failure to free at teardown is ignored, as the CUDA runtime reports
// the error that caused it elsewhere.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "cuda/error.hpp"

namespace ngvi::gpu {

/// `count` elements of T in device memory (uninitialized).
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    if (count > 0) NGVI_CUDA_TRY(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(T)));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ~DeviceBuffer() {
    if (data_) cudaFree(data_);
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

/// `count` elements of T in page-locked host memory, for truly asynchronous small copies.
template <class T>
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t count) {
    NGVI_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&data_), count * sizeof(T)));
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() { cudaFreeHost(data_); }
  T* data() { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }

 private:
  T* data_ = nullptr;
};

/// A non-blocking stream.
class Stream {
 public:
  Stream() { NGVI_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { cudaStreamDestroy(stream_); }
  cudaStream_t get() const { return stream_; }
  void synchronize() const { NGVI_CUDA_TRY(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

/// count elements host -> device on `stream`.
template <class T>
void copy_to_device(T* device, const T* host, std::size_t count, cudaStream_t stream) {
  if (count > 0) NGVI_CUDA_TRY(cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
}

/// count elements device -> host on `stream` (complete after the stream is synchronized).
template <class T>
void copy_to_host(T* host, const T* device, std::size_t count, cudaStream_t stream) {
  if (count > 0) NGVI_CUDA_TRY(cudaMemcpyAsync(host, device, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
}

}  // namespace ngvi::gpu
