#pragma once
/// @file tensor.hpp
/// `Tensor<T>`: a dense, row-major, strided n-d array of float or double.
///
/// A tensor is a view (shape, strides, offset) onto shared storage. `reshape` of a contiguous
/// tensor, `transpose`, `permute` and `slice` are views without copies; `contiguous()` copies
/// only when needed. Storage is taken from the thread's arena while an `ArenaScope` is open
/// (see core/arena.hpp), otherwise from the heap. Device storage exists only in CUDA builds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/tensor/shape.hpp"

namespace mgvae {

/// Where a tensor's storage lives.
enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

/// Raw buffer: heap-owned or arena-backed.
template <class T>
class Storage {
 public:
  explicit Storage(std::int64_t n) : n_(n) {
    const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * sizeof(T);
    Arena& a = Arena::local();
    if (a.active() && !HeapScope::heap_forced()) {
      ptr_ = static_cast<T*>(a.allocate(bytes));
      scope_ = a.current_scope();
      arena_ = &a;
    } else {
      ptr_ = static_cast<T*>(::operator new(bytes, std::align_val_t(Arena::kAlign)));
      owned_ = true;
    }
  }
  ~Storage() {
    if (owned_) ::operator delete(ptr_, std::align_val_t(Arena::kAlign));
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// Pointer to the data; throws std::logic_error if the arena scope that owned it has ended.
  /// The check asks the arena of the thread that allocated the storage, so worker threads
  /// (OpenMP loops inside an ArenaScope) may read and write it while that scope is open.
  T* data() const {
    if (scope_ != 0 && !arena_->is_live(scope_))
      throw std::logic_error(
          "mgvae::Tensor: storage used after its ArenaScope ended (allocate long-lived tensors outside the "
          "scope or inside a HeapScope)");
    return ptr_;
  }
  std::int64_t size() const noexcept { return n_; }
  bool arena_backed() const noexcept { return scope_ != 0; }

 private:
  T* ptr_ = nullptr;
  std::int64_t n_ = 0;
  std::uint64_t scope_ = 0;
  const Arena* arena_ = nullptr;  // the allocating thread's arena (arena-backed storage only)
  bool owned_ = false;
};

template <class T>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Tensor<T>: T must be float or double");

 public:
  using value_type = T;

  /// An undefined tensor (no storage).
  Tensor() = default;

  /// Uninitialised tensor of a shape.
  explicit Tensor(const Shape& shape) : shape_(shape), strides_(contiguous_strides(shape)) {
    check_shape("Tensor", shape);
    st_ = std::make_shared<Storage<T>>(numel_of(shape));
  }

  // ---- factories -------------------------------------------------------------------------
  static Tensor empty(const Shape& s) { return Tensor(s); }
  static Tensor full(const Shape& s, T v) {
    Tensor t(s);
    std::fill_n(t.data(), t.numel(), v);
    return t;
  }
  static Tensor zeros(const Shape& s) { return full(s, T(0)); }
  static Tensor ones(const Shape& s) { return full(s, T(1)); }
  static Tensor scalar(T v) { return full({}, v); }
  /// From a flat vector in row-major order; throws if sizes disagree.
  static Tensor from(const Shape& s, const std::vector<T>& v) {
    Tensor t(s);
    if (static_cast<std::int64_t>(v.size()) != t.numel())
      throw_invalid("Tensor::from", "shape " + shape_str(s) + " needs " + std::to_string(t.numel()) +
                                        " values, got " + std::to_string(v.size()));
    std::copy(v.begin(), v.end(), t.data());
    return t;
  }
  /// Standard normal entries times `scale`, element i drawn from position i of `rng`'s stream.
  static Tensor randn(const Shape& s, const CounterRng& rng, T scale = T(1)) {
    Tensor t(s);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(scale * rng.normal(static_cast<std::uint64_t>(i)));
    return t;
  }
  /// Uniform entries in (lo, hi).
  static Tensor uniform(const Shape& s, const CounterRng& rng, T lo = T(0), T hi = T(1)) {
    Tensor t(s);
    for (std::int64_t i = 0; i < t.numel(); ++i)
      t.data()[i] = static_cast<T>(lo + (hi - lo) * rng.uniform(static_cast<std::uint64_t>(i)));
    return t;
  }

  // ---- introspection ---------------------------------------------------------------------
  bool defined() const noexcept { return static_cast<bool>(st_); }
  const Shape& shape() const noexcept { return shape_; }
  const Shape& strides() const noexcept { return strides_; }
  std::int64_t dim() const noexcept { return static_cast<std::int64_t>(shape_.size()); }
  std::int64_t size(int axis) const { return shape_[static_cast<std::size_t>(normalize_axis("Tensor::size", axis, shape_.size()))]; }
  std::int64_t numel() const noexcept { return numel_of(shape_); }
  std::int64_t offset() const noexcept { return offset_; }
  Device device() const noexcept { return Device::CPU; }
  bool is_contiguous() const noexcept {
    std::int64_t acc = 1;
    for (std::size_t i = shape_.size(); i-- > 0;) {
      if (shape_[i] != 1 && strides_[i] != acc) return false;
      acc *= shape_[i];
    }
    return true;
  }
  /// Pointer to element [0,...,0]. Contiguity is the caller's business (see contiguous()).
  T* data() const {
    if (!st_) throw std::logic_error("mgvae::Tensor: data() of an undefined tensor");
    return st_->data() + offset_;
  }
  bool arena_backed() const noexcept { return st_ && st_->arena_backed(); }
  bool shares_storage_with(const Tensor& o) const noexcept { return st_ == o.st_; }

  /// Element access by multi-index (bounds-checked; for tests and small code, not hot loops).
  template <class... I>
  T& operator()(I... idx) const {
    const std::int64_t ix[] = {static_cast<std::int64_t>(idx)...};
    if (sizeof...(I) != shape_.size())
      throw_invalid("Tensor::operator()", "got " + std::to_string(sizeof...(I)) + " indices for shape " + shape_str(shape_));
    std::int64_t off = 0;
    for (std::size_t d = 0; d < sizeof...(I); ++d) {
      if (ix[d] < 0 || ix[d] >= shape_[d])
        throw_invalid("Tensor::operator()", "index " + std::to_string(ix[d]) + " out of range for dim " +
                                                std::to_string(d) + " of shape " + shape_str(shape_));
      off += ix[d] * strides_[d];
    }
    return data()[off];
  }
  T& operator()() const {
    if (!shape_.empty()) throw_invalid("Tensor::operator()", "no indices for shape " + shape_str(shape_));
    return data()[0];
  }

  /// The single value of a one-element tensor.
  T item() const {
    if (numel() != 1) throw_invalid("Tensor::item", "tensor of shape " + shape_str(shape_) + " is not one element");
    return data()[0];
  }

  /// Values in row-major order (copies).
  std::vector<T> to_vector() const {
    Tensor c = contiguous();
    return std::vector<T>(c.data(), c.data() + c.numel());
  }

  // ---- views and copies --------------------------------------------------------------------
  /// Same data, contiguous layout (a copy only when not already contiguous).
  Tensor contiguous() const {
    if (is_contiguous()) return *this;
    Tensor out(shape_);
    copy_strided(out.data(), *this);
    return out;
  }
  /// A contiguous deep copy.
  Tensor clone() const {
    Tensor out(shape_);
    copy_strided(out.data(), *this);
    return out;
  }
  /// Copies `src` (same numel and shape) into this tensor's memory.
  void copy_from(const Tensor& src) const {
    check_same_shape("Tensor::copy_from", "destination", shape_, "source", src.shape_);
    if (is_contiguous()) {
      copy_strided(data(), src);
    } else {
      Tensor c = src.contiguous();
      Tensor dst = *this;
      std::int64_t k = 0;
      for_each_offset(dst, [&](std::int64_t off) { dst.data()[off] = c.data()[k++]; });
    }
  }
  /// Fills with a value.
  void fill(T v) const {
    if (is_contiguous()) {
      std::fill_n(data(), numel(), v);
    } else {
      Tensor d = *this;
      for_each_offset(d, [&](std::int64_t off) { d.data()[off] = v; });
    }
  }
  /// Reshape (one dim may be -1). A view when contiguous, else a copy.
  Tensor reshape(Shape s) const {
    std::int64_t known = 1, neg = -1;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == -1) {
        if (neg >= 0) throw_invalid("reshape", "more than one -1 in " + shape_str(s));
        neg = static_cast<std::int64_t>(i);
      } else {
        if (s[i] < 0) throw_invalid("reshape", "negative dimension in " + shape_str(s));
        known *= s[i];
      }
    }
    if (neg >= 0) {
      if (known == 0 || numel() % known != 0)
        throw_invalid("reshape", "cannot reshape " + shape_str(shape_) + " into " + shape_str(s));
      s[static_cast<std::size_t>(neg)] = numel() / known;
    }
    if (numel_of(s) != numel()) throw_invalid("reshape", "cannot reshape " + shape_str(shape_) + " into " + shape_str(s));
    Tensor c = contiguous();
    c.shape_ = s;
    c.strides_ = contiguous_strides(s);
    return c;
  }
  /// Swaps two axes (view).
  Tensor transpose(int a, int b) const {
    a = normalize_axis("transpose", a, shape_.size());
    b = normalize_axis("transpose", b, shape_.size());
    Tensor v = *this;
    std::swap(v.shape_[static_cast<std::size_t>(a)], v.shape_[static_cast<std::size_t>(b)]);
    std::swap(v.strides_[static_cast<std::size_t>(a)], v.strides_[static_cast<std::size_t>(b)]);
    return v;
  }
  /// Reorders axes: result axis i is input axis dims[i] (view).
  Tensor permute(const std::vector<int>& dims) const {
    if (dims.size() != shape_.size()) throw_invalid("permute", "need " + std::to_string(shape_.size()) + " axes");
    std::vector<bool> seen(dims.size(), false);
    Tensor v = *this;
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const int d = normalize_axis("permute", dims[i], shape_.size());
      if (seen[static_cast<std::size_t>(d)]) throw_invalid("permute", "axis " + std::to_string(d) + " repeated");
      seen[static_cast<std::size_t>(d)] = true;
      v.shape_[i] = shape_[static_cast<std::size_t>(d)];
      v.strides_[i] = strides_[static_cast<std::size_t>(d)];
    }
    return v;
  }
  /// Elements [start, end) along `axis` (view).
  Tensor slice(int axis, std::int64_t start, std::int64_t end) const {
    axis = normalize_axis("slice", axis, shape_.size());
    const auto ax = static_cast<std::size_t>(axis);
    if (start < 0 || end < start || end > shape_[ax])
      throw_invalid("slice", "range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds for axis " +
                                 std::to_string(axis) + " of shape " + shape_str(shape_));
    Tensor v = *this;
    v.offset_ += start * strides_[ax];
    v.shape_[ax] = end - start;
    return v;
  }
  /// Broadcasts to `target` (NumPy rules) as a view: broadcast axes get stride 0.
  /// Write through such a view only if you know what you are doing.
  Tensor expand(const Shape& target) const {
    const Shape b = broadcast_shapes("expand", shape_, target);
    if (b != target) throw_invalid("expand", "cannot expand " + shape_str(shape_) + " to " + shape_str(target));
    Tensor v = *this;
    v.strides_ = broadcast_strides(shape_, strides_, target);
    v.shape_ = target;
    return v;
  }
  /// A view with explicitly given shape and strides (advanced; no checks beyond rank).
  Tensor as_strided(const Shape& shape, const Shape& strides, std::int64_t extra_offset = 0) const {
    if (shape.size() != strides.size()) throw_invalid("as_strided", "shape and strides differ in rank");
    Tensor v = *this;
    v.shape_ = shape;
    v.strides_ = strides;
    v.offset_ += extra_offset;
    return v;
  }
  /// Converts the element type (copy).
  template <class U>
  Tensor<U> cast() const {
    Tensor c = contiguous();
    Tensor<U> out(shape_);
    for (std::int64_t i = 0; i < c.numel(); ++i) out.data()[i] = static_cast<U>(c.data()[i]);
    return out;
  }

  /// Calls f(offset) for every element in row-major order (offset relative to data()).
  template <class F>
  static void for_each_offset(const Tensor& t, F&& f) {
    const std::int64_t n = t.numel();
    if (n == 0) return;
    const std::size_t r = t.shape_.size();
    if (r == 0) {
      f(0);
      return;
    }
    std::vector<std::int64_t> idx(r, 0);
    std::int64_t off = 0;
    const std::int64_t last = t.shape_[r - 1], ls = t.strides_[r - 1];
    for (;;) {
      for (std::int64_t k = 0; k < last; ++k) f(off + k * ls);
      // odometer over the leading dims
      std::size_t d = r - 1;
      for (;;) {
        if (d == 0) return;
        --d;
        ++idx[d];
        off += t.strides_[d];
        if (idx[d] < t.shape_[d]) break;
        off -= idx[d] * t.strides_[d];
        idx[d] = 0;
      }
    }
  }

 private:
  static void copy_strided(T* dst, const Tensor& src) {
    if (src.is_contiguous()) {
      std::memcpy(dst, src.data(), static_cast<std::size_t>(src.numel()) * sizeof(T));
      return;
    }
    const T* s = src.data();
    std::int64_t k = 0;
    for_each_offset(src, [&](std::int64_t off) { dst[k++] = s[off]; });
  }

  std::shared_ptr<Storage<T>> st_;
  std::int64_t offset_ = 0;
  Shape shape_, strides_;
};

/// Max |a - b| over all elements (shapes must match).
template <class T>
T max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  check_same_shape("max_abs_diff", "a", a.shape(), "b", b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  T m = 0;
  for (std::size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

}  // namespace mgvae
