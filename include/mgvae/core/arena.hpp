#pragma once
/// @file arena.hpp
/// Block-doubling bump arena with nested scopes (after Stan's `stack_alloc`).
///
/// While an `ArenaScope` is alive on a thread, new tensor storage on that thread is carved out
/// of the thread's arena instead of the heap; when the scope ends, everything allocated inside
/// it is released at once (no per-tensor free). A training step therefore does
/// `{ ArenaScope step; forward; backward; optimiser.step(); }` and reuses the same memory
/// every step. Storage remembers the scope it came from: touching it after that scope ended
/// throws `std::logic_error` instead of reading freed memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mgvae {

/// The per-thread arena. Use through `ArenaScope` and `Arena::local()`.
class Arena {
 public:
  static constexpr std::size_t kAlign = 64;

  /// The calling thread's arena.
  static Arena& local() {
    thread_local Arena a;
    return a;
  }

  /// True while at least one scope is open on this thread.
  bool active() const noexcept { return !scopes_.empty(); }

  /// Id of the innermost open scope (0 if none).
  std::uint64_t current_scope() const noexcept { return scopes_.empty() ? 0 : scopes_.back().id; }

  /// Whether memory allocated in scope `id` is still valid.
  bool is_live(std::uint64_t id) const noexcept {
    for (const auto& s : scopes_)
      if (s.id == id) return true;
    return false;
  }

  /// Bump-allocates `bytes` (64-byte aligned) in the innermost scope.
  void* allocate(std::size_t bytes) {
    bytes = (bytes + kAlign - 1) / kAlign * kAlign;
    if (bytes == 0) bytes = kAlign;
    while (cur_ < blocks_.size()) {
      Block& b = blocks_[cur_];
      if (b.used + bytes <= b.size) {
        void* p = b.data.get() + b.used;
        b.used += bytes;
        bytes_in_use_ += bytes;
        peak_ = std::max(peak_, bytes_in_use_);
        return p;
      }
      ++cur_;
      if (cur_ < blocks_.size()) blocks_[cur_].used = 0;
    }
    const std::size_t last = blocks_.empty() ? (std::size_t{1} << 20) : blocks_.back().size * 2;
    Block nb;
    nb.size = std::max(last, bytes);
    nb.data.reset(new (std::align_val_t(kAlign)) std::byte[nb.size]);
    nb.used = bytes;
    blocks_.push_back(std::move(nb));
    cur_ = blocks_.size() - 1;
    bytes_in_use_ += bytes;
    peak_ = std::max(peak_, bytes_in_use_);
    return blocks_.back().data.get();
  }

  /// Bytes reserved from the system (all blocks).
  std::size_t capacity() const noexcept {
    std::size_t c = 0;
    for (const auto& b : blocks_) c += b.size;
    return c;
  }
  /// Highest number of bytes in use at once.
  std::size_t peak() const noexcept { return peak_; }
  std::size_t in_use() const noexcept { return bytes_in_use_; }

  // Scope management (used by ArenaScope).
  std::uint64_t push_scope() {
    Scope s{++next_id_, cur_, blocks_.empty() ? 0 : blocks_[std::min(cur_, blocks_.size() - 1)].used, bytes_in_use_};
    scopes_.push_back(s);
    return s.id;
  }
  /// Closes scope `id`, which must be the innermost (RAII guarantees it).
  void pop_scope(std::uint64_t id) noexcept {
    if (scopes_.empty() || scopes_.back().id != id) std::terminate();  // internal invariant
    const Scope s = scopes_.back();
    scopes_.pop_back();
    cur_ = s.block;
    if (cur_ < blocks_.size()) blocks_[cur_].used = s.used;
    bytes_in_use_ = s.in_use;
  }

 private:
  struct ByteDeleter {
    void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t(kAlign)); }
  };
  struct Block {
    std::unique_ptr<std::byte[], ByteDeleter> data;
    std::size_t size = 0, used = 0;
  };
  struct Scope {
    std::uint64_t id;
    std::size_t block, used, in_use;
  };
  std::vector<Block> blocks_;
  std::vector<Scope> scopes_;
  std::size_t cur_ = 0, bytes_in_use_ = 0, peak_ = 0;
  std::uint64_t next_id_ = 0;
};

/// RAII scope: tensors created on this thread while it lives are arena-backed and are released
/// when it ends. Scopes nest; close them in reverse order (automatic with RAII).
class ArenaScope {
 public:
  ArenaScope() : id_(Arena::local().push_scope()) {}
  ~ArenaScope() { Arena::local().pop_scope(id_); }
  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;
  std::uint64_t id() const noexcept { return id_; }

 private:
  std::uint64_t id_;
};

/// Temporarily routes allocations to the heap inside an ArenaScope (for values that must
/// outlive the step: parameters, optimiser state, metrics).
class HeapScope {
 public:
  HeapScope() : prev_(heap_forced()) { heap_forced() = true; }
  ~HeapScope() { heap_forced() = prev_; }
  HeapScope(const HeapScope&) = delete;
  HeapScope& operator=(const HeapScope&) = delete;
  static bool& heap_forced() {
    thread_local bool f = false;
    return f;
  }

 private:
  bool prev_;
};

}  // namespace mgvae
