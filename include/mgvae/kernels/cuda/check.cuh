#pragma once
/// @file check.cuh
/// CUDA error handling and device memory for the mgvae CUDA kernels (compiled only with nvcc,
/// i.e. the `cuda` preset / MGVAE_WITH_CUDA).
///
/// * `MGVAE_CUDA_CHECK(expr)` evaluates a CUDA runtime call and throws `mgvae::CudaError` naming the
///   expression, the file and the line when it does not return cudaSuccess.
/// * `require_device()` throws `mgvae::CudaError` ("no CUDA device") instead of letting a kernel launch
///   fail later; no GPU is never a crash or a hang.
/// * `DeviceBuffer<T>`: RAII device allocation, stream-ordered (`cudaMallocAsync` / `cudaFreeAsync`),
///   plain device memory (no managed memory), with checked host↔device copies.
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mgvae {

/// A failed CUDA runtime call, no device, or out of device memory.
class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& what, cudaError_t code) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const noexcept { return code_; }

 private:
  cudaError_t code_;
};

namespace cuda_detail {
inline void check(cudaError_t e, const char* expr, const char* file, int line) {
  if (e != cudaSuccess)
    throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + expr + " failed: " +
                        cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")",
                    e);
}
}  // namespace cuda_detail

}  // namespace mgvae

#define MGVAE_CUDA_CHECK(expr) ::mgvae::cuda_detail::check((expr), #expr, __FILE__, __LINE__)
/// Checks the last kernel launch (launch-configuration errors; execution errors surface at the next sync).
#define MGVAE_CUDA_CHECK_LAUNCH() ::mgvae::cuda_detail::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

namespace mgvae::cuda {

/// Number of usable CUDA devices (0 when the driver or the device is missing).
inline int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

/// @throw CudaError if no CUDA device can be used.
inline void require_device(const char* fn) {
  if (device_count() == 0) throw CudaError(std::string(fn) + ": no CUDA device is available", cudaErrorNoDevice);
}

/// Stream-ordered device allocation of `size` elements of T.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::int64_t size, cudaStream_t stream) : size_(size), stream_(stream) {
    if (size < 0) throw std::invalid_argument("DeviceBuffer: argument 'size' must be >= 0");
    if (size > 0) MGVAE_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), bytes(), stream));
  }
  /// Allocates and copies `host` to the device.
  DeviceBuffer(const std::vector<T>& host, cudaStream_t stream)
      : DeviceBuffer(static_cast<std::int64_t>(host.size()), stream) {
    upload(host.data());
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    DeviceBuffer t(std::move(o));
    swap(t);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_) (void)cudaFreeAsync(ptr_, stream_);
  }
  T* data() noexcept { return ptr_; }
  const T* data() const noexcept { return ptr_; }
  std::int64_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(size_) * sizeof(T); }
  cudaStream_t stream() const noexcept { return stream_; }
  void upload(const T* host) {
    if (size_) MGVAE_CUDA_CHECK(cudaMemcpyAsync(ptr_, host, bytes(), cudaMemcpyHostToDevice, stream_));
  }
  /// Copies to the host and synchronises the stream.
  std::vector<T> download() const {
    std::vector<T> h(static_cast<std::size_t>(size_));
    if (size_) MGVAE_CUDA_CHECK(cudaMemcpyAsync(h.data(), ptr_, bytes(), cudaMemcpyDeviceToHost, stream_));
    MGVAE_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return h;
  }
  /// Fills every byte with `byte` (0xFF poisons floats with NaN, for tests).
  void fill_bytes(int byte) {
    if (size_) MGVAE_CUDA_CHECK(cudaMemsetAsync(ptr_, byte, bytes(), stream_));
  }

 private:
  void swap(DeviceBuffer& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    std::swap(stream_, o.stream_);
  }
  T* ptr_ = nullptr;
  std::int64_t size_ = 0;
  cudaStream_t stream_ = nullptr;
};

}  // namespace mgvae::cuda
