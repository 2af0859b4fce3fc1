// Storage: a reference-counted block of bytes on a device, shared by every view of it.
//
// CPU blocks come from a small caching allocator: a freed block of a given size is kept and
// handed to the next request of that size. Training loops allocate the same shapes every
// step, and without the cache every large tensor would be fresh pages from the kernel
// (a page fault per 4 KiB on first touch), which dominates memory-bound ops.
//
// CUDA blocks (builds with EMBER_WITH_CUDA) come from the CUDA backend's stream-ordered memory
// pool (backend/cuda/api.hpp), which does the same caching on the device.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <ember/backend/cuda/api.hpp>
#include <ember/core/device.hpp>
#include <ember/core/error.hpp>

namespace ember {

namespace detail {

class CpuBlockCache {
 public:
  static CpuBlockCache& instance() {
    static CpuBlockCache* cache = new CpuBlockCache();  // never destroyed: outlives static tensors
    return *cache;
  }

  void* allocate(size_t nbytes) {
    const size_t rounded = round_up(nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(rounded);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= rounded;
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (!p) {
      release_all();
      p = std::aligned_alloc(kAlignment, rounded);
    }
    EMBER_CHECK(p != nullptr, "allocate: out of memory asking for ", nbytes, " bytes on cpu");
    return p;
  }

  void deallocate(void* p, size_t nbytes) {
    const size_t rounded = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_bytes_ + rounded > kMaxCachedBytes) {
      std::free(p);
      return;
    }
    free_[rounded].push_back(p);
    cached_bytes_ += rounded;
  }

  // Returns every cached block to the system (also called when an allocation fails).
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_bytes_ = 0;
  }

 private:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kMaxCachedBytes = size_t(2) << 30;
  // Small sizes round to 64 bytes; large ones to 1/8 of their power of two, so a cached
  // block is never more than 12.5% larger than asked for.
  static size_t round_up(size_t n) {
    if (n == 0) n = 1;
    if (n <= 4096) return (n + 63) / 64 * 64;
    size_t p = 4096;
    while (p < n) p <<= 1;
    const size_t step = p / 8;
    return (n + step - 1) / step * step;
  }
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_bytes_ = 0;
};

}  // namespace detail

class Storage {
 public:
  Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
#ifdef EMBER_WITH_CUDA
    if (device.is_cuda()) {
      data_ = cuda::allocate(nbytes, device.index);
      return;
    }
#endif
    check_cpu(device, "Storage");
    data_ = detail::CpuBlockCache::instance().allocate(nbytes);
  }
  ~Storage() {
    if (!data_) return;
#ifdef EMBER_WITH_CUDA
    if (device_.is_cuda()) {
      try {
        cuda::deallocate(data_, nbytes_, device_.index);
      } catch (...) {  // a destructor must not throw (e.g. freeing during CUDA shutdown)
      }
      return;
    }
#endif
    detail::CpuBlockCache::instance().deallocate(data_, nbytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

namespace detail {

// Device-side helpers for Tensor's creation and copies (core/tensor_class.hpp), by element size
// so they serve every dtype. In a CPU-only build they throw check_cpu's error.

// Fills n elements of elem_size bytes at dst (on device) with *value (on the host).
inline void device_fill(void* dst, const void* value, size_t elem_size, int64_t n,
                        const Device& device) {
#ifdef EMBER_WITH_CUDA
  if (device.is_cuda()) return cuda::fill(dst, value, elem_size, n, device.index);
#endif
  (void)dst, (void)value, (void)elem_size, (void)n;
  check_cpu(device, "fill");
}

// dst (strides dst_strides) = src (strides src_strides, 0 where broadcast) elementwise over
// shape, both on `device`.
inline void device_strided_copy(void* dst, const std::vector<int64_t>& dst_strides, const void* src,
                                const std::vector<int64_t>& src_strides,
                                const std::vector<int64_t>& shape, size_t elem_size,
                                const Device& device) {
#ifdef EMBER_WITH_CUDA
  if (device.is_cuda()) {
    cuda::StridedLayout l;
    EMBER_CHECK(cuda::make_layout(l, shape, {&dst_strides, &src_strides}), "copy_: shape ",
                shape_str(shape), " has more than ", cuda::kMaxDims,
                " non-mergeable dims, which the CUDA copy kernel does not handle");
    if (l.numel > 0) cuda::strided_copy(dst, src, elem_size, l, device.index);
    return;
  }
#endif
  (void)dst, (void)dst_strides, (void)src, (void)src_strides, (void)shape, (void)elem_size;
  check_cpu(device, "copy_");
}

// nbytes between two devices (either may be the CPU).
inline void device_copy(void* dst, const Device& dst_device, const void* src,
                        const Device& src_device, size_t nbytes) {
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    if (nbytes) std::memcpy(dst, src, nbytes);
    return;
  }
#ifdef EMBER_WITH_CUDA
  if (nbytes) cuda::copy(dst, dst_device, src, src_device, nbytes);
#else
  (void)dst, (void)src, (void)nbytes;
  check_cpu(dst_device.is_cuda() ? dst_device : src_device, "to");
#endif
}

}  // namespace detail

}  // namespace ember
